/// Whether there is room to work in the state folder, and when that changes. Below the reserve
/// (`limits.min_free_bytes`) ingest, predictions and training wait, so that a full disk never costs
/// a scan or corrupts the catalog. After a write failed for lack of space, the reserve alone is not
/// enough — the same write would fail again at once — so the bar is raised to clearly more than was
/// free at the failure, until room returns. Pure: the daemon feeds it readings and says what it does.
public struct DiskSpace: Sendable, Equatable {
    /// How much more than was free at a failed write must be free again, at least: a checkpoint
    /// with its optimizer state is 16 MB.
    public static let minimumMargin: Int64 = 16 << 20

    /// Free bytes when space last fell short; nil while there is room.
    public private(set) var shortAt: Int64?
    /// Free bytes needed after a failed write (0: just the reserve).
    public private(set) var floor: Int64 = 0

    public init() {}

    public enum Change: Equatable, Sendable {
        case none
        /// Space fell short: `needed` bytes are wanted; `afterFailedWrite` when that is more than the reserve.
        case ranOut(free: Int64, needed: Int64, afterFailedWrite: Bool)
        case cameBack(free: Int64)
    }

    /// A reading of the free space with `reserve` wanted: whether there is room, and whether that
    /// changed since the last reading (each change is reported once).
    public mutating func observe(free: Int64, reserve: Int64) -> (room: Bool, change: Change) {
        let needed = max(reserve, floor)
        let room = free >= needed
        let wasShort = shortAt != nil
        shortAt = room ? nil : free
        if room { floor = 0 }
        switch (wasShort, room) {
        case (true, true): return (true, .cameBack(free: free))
        case (false, false): return (false, .ranOut(free: free, needed: needed, afterFailedWrite: needed > reserve))
        default: return (room, .none)
        }
    }

    /// A write failed for lack of space while `free` bytes were free.
    public mutating func writeFailed(free: Int64, reserve: Int64) {
        floor = max(floor, free + max(reserve, Self.minimumMargin))
    }
}
