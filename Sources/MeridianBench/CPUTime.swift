import Foundation

/// CPU time (user + system) in seconds, from `getrusage`.
public enum CPUTime {
    /// Of this process, every thread.
    public static func process() -> Double { seconds(RUSAGE_SELF.rawValue) }

    /// Of the child processes that ended and were waited for.
    public static func children() -> Double { seconds(RUSAGE_CHILDREN.rawValue) }

    private static func seconds(_ who: Int32) -> Double {
        var usage = rusage()
        getrusage(who, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1_000_000
    }
}
