import VRRPConfig
import Glibc

/// A failed system call: what we tried, on what, and errno's text.
public struct SystemError: Error, Sendable, CustomStringConvertible {
    public var operation: String
    public var errno: Int32
    public init(_ operation: String, errno: Int32) {
        self.operation = operation
        self.errno = errno
    }
    public var description: String { "\(operation): \(String(cString: strerror(errno)))" }

    /// For the C helpers' convention: negative errno on failure.
    static func check(_ rc: Int32, _ operation: @autoclosure () -> String) throws(SystemError) -> Int32 {
        if rc < 0 { throw SystemError(operation(), errno: -rc) }
        return rc
    }
}
