import Foundation

/// The kill switch (`risk.killSwitchFile`): while the file exists, nothing is sent.
public struct KillSwitch: Sendable {
    /// The file whose existence engages it; nil: no kill switch.
    public var file: String?

    public init(file: String?) { self.file = file }

    /// The file, when it exists now.
    public func engagedFile() -> String? {
        guard let file, FileManager.default.fileExists(atPath: file) else { return nil }
        return file
    }

    /// Whether it is engaged now.
    public var isEngaged: Bool { engagedFile() != nil }
}
