import Foundation

/// Just enough ELF64 (little-endian) to list a program's DT_NEEDED libraries without reading the
/// whole file: the header, the program headers, the dynamic segment and the strings it names.
enum ELFFile {
    static func neededLibraries(_ path: String) -> [String]? {
        guard let file = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? file.close() }
        func read(_ offset: UInt64, _ count: Int) -> [UInt8]? {
            guard (try? file.seek(toOffset: offset)) != nil, let data = try? file.read(upToCount: count),
                  data.count == count else { return nil }
            return [UInt8](data)
        }
        func u64(_ b: [UInt8], _ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[at + $1]) << (8 * UInt64($1)) } }
        func u32(_ b: [UInt8], _ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[at + $1]) << (8 * UInt32($1)) } }
        func u16(_ b: [UInt8], _ at: Int) -> Int { Int(b[at]) | Int(b[at + 1]) << 8 }
        guard let header = read(0, 64), header[0..<4] == [0x7f, 0x45, 0x4c, 0x46], header[4] == 2, header[5] == 1 else { return nil }
        let phoff = u64(header, 32), phentsize = u16(header, 54), phnum = u16(header, 56)
        guard let table = read(phoff, phentsize * phnum) else { return nil }
        var loads: [(vaddr: UInt64, offset: UInt64, size: UInt64)] = []
        var dynamic: (offset: UInt64, size: UInt64)?
        for i in 0..<phnum {
            let at = i * phentsize
            let type = u32(table, at)
            if type == 1 { loads.append((u64(table, at + 16), u64(table, at + 8), u64(table, at + 32))) }
            if type == 2 { dynamic = (u64(table, at + 8), u64(table, at + 32)) }
        }
        guard let dynamic else { return [] }  // no dynamic segment: fully static
        guard let entries = read(dynamic.offset, Int(dynamic.size)) else { return nil }
        var needed: [UInt64] = []
        var strtab: UInt64?
        for at in stride(from: 0, to: entries.count - 15, by: 16) {
            let tag = u64(entries, at), value = u64(entries, at + 8)
            if tag == 0 { break }
            if tag == 1 { needed.append(value) }
            if tag == 5 { strtab = value }
        }
        guard let strtab, let segment = loads.first(where: { strtab >= $0.vaddr && strtab < $0.vaddr + $0.size }) else { return nil }
        let base = segment.offset + (strtab - segment.vaddr)
        return needed.compactMap { offset in
            guard let bytes = read(base + offset, 256), let end = bytes.firstIndex(of: 0) else { return nil }
            return String(decoding: bytes[..<end], as: UTF8.self)
        }
    }
}
