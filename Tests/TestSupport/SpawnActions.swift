import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// File actions for posix_spawn that glibc has as `_np` functions (2.29 and 2.34), which Swift's
/// Glibc module does not declare: looked up by name, and skipped where glibc lacks them.
public enum SpawnActions {
    /// The child inherits no descriptor beyond 0–2. A test starts servers while other threads run
    /// curl through pipes: a server that inherited a pipe's write end would keep it open, and the
    /// thread reading that pipe to its end would wait for the server's exit.
    public static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
        if let closeFrom = glibcFunction("posix_spawn_file_actions_addclosefrom_np", as: AddCloseFrom.self) {
            _ = closeFrom(&actions, 3)
        }
    }

    /// The child starts in `directory`.
    public static func changeDirectory(_ actions: inout posix_spawn_file_actions_t, to directory: String) {
        if let changeDirectory = glibcFunction("posix_spawn_file_actions_addchdir_np", as: AddChangeDirectory.self) {
            _ = changeDirectory(&actions, directory)
        }
    }

    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
    private typealias AddChangeDirectory = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?) -> Int32

    private static func glibcFunction<Function>(_ name: String, as type: Function.Type) -> Function? {
        // A nil handle is RTLD_DEFAULT: the symbol wherever the process has it.
        guard let symbol = dlsym(nil, name) else { return nil }
        return unsafeBitCast(symbol, to: type)
    }
}
