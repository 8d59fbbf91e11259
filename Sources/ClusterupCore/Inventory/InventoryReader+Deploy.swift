/// Reading the sections deploy adds: `etcd`, `control_plane`, `artifacts`, `templates`.
extension InventoryReader {
    static let deployKeys = ["etcd", "control_plane", "artifacts", "templates"]

    func readDeploy(_ top: YAMLMapping) throws(ClusterupError) -> DeploySettings {
        var settings = DeploySettings()
        if let field = top["etcd"] {
            let etcd = try field.mapping(allowed: ["data_dir", "backup_dir", "extra_args", "snapshots"])
            if let dir = etcd["data_dir"] { settings.etcd.dataDirectory = try absoluteRemotePath(dir) }
            if let dir = etcd["backup_dir"] { settings.etcd.backupDirectory = try absoluteRemotePath(dir) }
            if let args = etcd["extra_args"] { settings.etcd.extraArgs = try flags(args) }
            if let snapshots = etcd["snapshots"] { settings.etcd.snapshots = try readSnapshots(snapshots) }
        }
        if let field = top["control_plane"] {
            let cp = try field.mapping(allowed: [
                "version", "apiserver_extra_args", "controller_manager_extra_args", "scheduler_extra_args",
            ])
            if let version = cp["version"] { settings.controlPlane.version = try version.nonEmptyString() }
            if let args = cp["apiserver_extra_args"] { settings.controlPlane.apiserverExtraArgs = try flags(args) }
            if let args = cp["controller_manager_extra_args"] { settings.controlPlane.controllerManagerExtraArgs = try flags(args) }
            if let args = cp["scheduler_extra_args"] { settings.controlPlane.schedulerExtraArgs = try flags(args) }
        }
        if let field = top["artifacts"] {
            let artifacts = try field.mapping(allowed: Artifact.names)
            for entry in artifacts.entries {
                settings.artifacts[entry.key] = try readArtifact(entry.key, entry.value)
            }
        }
        if let field = top["templates"] { settings.templates = resolve(try field.nonEmptyString()) }
        return settings
    }

    /// `{every: 6h, keep: 8, min_free: 1GiB}`; `every` is required.
    private func readSnapshots(_ field: YAMLField) throws(ClusterupError) -> EtcdSnapshotSchedule {
        let mapping = try field.mapping(allowed: ["every", "keep", "min_free"])
        guard let everyField = mapping["every"] else {
            throw field.error("says no interval", hint: "give every: (e.g. every: 6h); remove etcd.snapshots to turn them off")
        }
        let every = try everyField.duration()
        guard every >= .seconds(10) else {
            throw everyField.error("\(every.inventoryText) is too short: snapshots at least 10s apart", hint: "e.g. every: 6h")
        }
        var schedule = EtcdSnapshotSchedule(every: every)
        if let keep = mapping["keep"] { schedule.keep = try keep.int(in: 1...1000, what: "a number of snapshots") }
        if let minFree = mapping["min_free"] { schedule.minFree = try minFree.byteSize() }
        return schedule
    }

    /// `{package: NAME}`, `{url: U, sha256: H}` (with `extract: MEMBER` for a release tarball),
    /// `{file: PATH, sha256: H}` or `{present: true}`, each with an optional `path` on the node, and
    /// but for a package an optional `version` (the release the program is).
    private func readArtifact(_ name: String, _ field: YAMLField) throws(ClusterupError) -> Artifact {
        let mapping = try field.mapping(allowed: ["package", "url", "sha256", "extract", "file", "present", "version", "path"])
        let sources = ["package", "url", "file", "present"].filter { mapping[$0] != nil }
        guard sources.count == 1 else {
            throw field.error(
                sources.isEmpty ? "says nowhere to get \(name) from" : "names several sources (\(sources.joined(separator: ", ")))",
                hint: "give exactly one of package: NAME, url: URL (with sha256), file: PATH, present: true")
        }
        let fallback = Artifact.defaultArtifact(name)?.path ?? "/usr/local/bin/\(name)"
        let path = try mapping["path"].map { field throws(ClusterupError) in try absoluteRemotePath(field) } ?? fallback
        let sha256 = try mapping["sha256"].map { field throws(ClusterupError) -> String in
            let text = try field.string().lowercased()
            guard text.count == 64, text.allSatisfy(\.isHexDigit) else {
                throw field.error("'\(text)' is not a SHA-256 (64 hex digits)", hint: "as `sha256sum FILE` prints it")
            }
            return text
        }
        if let extractField = mapping["extract"], sources[0] != "url" {
            throw extractField.error("applies to a url artifact (a release tarball), not to a \(sources[0]) one",
                                     hint: "for a tarball on this machine write url: file:///path/to/it.tar.gz with its sha256")
        }
        let version = try mapping["version"]?.nonEmptyString()
        if let versionField = mapping["version"], sources[0] == "package" {
            throw versionField.error("a package's version is its package manager's: clusterup does not pin package versions",
                                     hint: "remove version:, or give the program as a url (a release tarball with extract:), file or present artifact with its version")
        }
        let source: ArtifactSource
        switch sources[0] {
        case "package":
            source = .package(try mapping.required("package").nonEmptyString())
        case "url":
            let urlField = try mapping.required("url")
            let url = try urlField.nonEmptyString()
            guard url.hasPrefix("https://") || url.hasPrefix("http://") || url.hasPrefix("file://") else {
                throw urlField.error("'\(url)' is not an http(s) or file URL")
            }
            guard let sha256 else {
                throw field.error("a url artifact needs its sha256", hint: "add sha256: <64 hex digits> (published next to the download)")
            }
            source = .url(url, sha256: sha256, extract: try mapping["extract"].map { field throws(ClusterupError) in try archiveMember(field) })
        case "file":
            let fileField = try mapping.required("file")
            let file = resolve(try fileField.nonEmptyString())
            try checkReadable(file, fileField, what: "\(name) file", hint: "relative paths are relative to the inventory's directory")
            source = .file(file, sha256: sha256)
        default:
            source = .present
        }
        var locations = ["": field.location]
        for entry in mapping.entries { locations[entry.key] = entry.value.location }
        return Artifact(name: name, source: source, path: path, version: version, locations: locations)
    }

    /// A path inside a release tarball, as `tar -tf` lists it: relative, with no `..`.
    private func archiveMember(_ field: YAMLField) throws(ClusterupError) -> String {
        let text = try field.nonEmptyString()
        let components = text.split(separator: "/", omittingEmptySubsequences: false)
        guard !text.hasPrefix("/"), !text.hasSuffix("/"), !components.contains("..") else {
            throw field.error("'\(text)' is not a file's path inside the archive",
                              hint: "write it as `tar -tf ARCHIVE` lists it, e.g. etcd-v3.5.16-linux-amd64/etcd")
        }
        return text
    }

    private func absoluteRemotePath(_ field: YAMLField) throws(ClusterupError) -> String {
        let text = try field.nonEmptyString()
        guard text.hasPrefix("/") else { throw field.error("'\(text)' must be an absolute path on the node") }
        // Normal form only: deploy writes, and reset removes, exactly the path written here.
        let components = text.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        guard text != "/", !components.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
            throw field.error("'\(text)' is not a normal path: no '.', '..', '//' or trailing '/', and not '/' itself",
                              hint: "write the directory as an absolute path such as /var/lib/etcd")
        }
        // Paths go into unit files and configuration mid-word, where quoting cannot reach.
        if let bad = text.unicodeScalars.first(where: { " \"'\\".unicodeScalars.contains($0) }) {
            throw field.error("'\(text)' holds '\(bad)'", hint: "use a path without spaces, quotes or backslashes")
        }
        return text
    }

    /// Extra command-line flags: each must start with "--".
    private func flags(_ field: YAMLField) throws(ClusterupError) -> [String] {
        var flags: [String] = []
        for item in try field.sequence() {
            let flag = try item.nonEmptyString()
            guard flag.hasPrefix("--") else {
                throw item.error("'\(flag)' is not a flag", hint: "write each flag as one list item, --name or --name=value")
            }
            // The name is letters, digits and dashes; the value is rendered as one quoted systemd word.
            let name = flag.dropFirst(2).prefix { $0 != "=" }
            guard !name.isEmpty, name.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "." }) else {
                throw item.error("'\(flag)': the flag name '\(name)' may only hold letters, digits, '-' and '.'",
                                 hint: "write each flag as one list item, --name or --name=value")
            }
            flags.append(flag)
        }
        return flags
    }
}
