import Hummingbird
import NIOCore

/// The request context of the webhook listener: it carries the peer address for `allowFrom`.
public struct WebhookContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The TCP peer's IP address.
    public let remoteAddress: String?
    /// The connection, so that a refused body is not read any further.
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress?.ipAddress
        self.channel = source.channel
    }

    /// Stops reading the request: the answer is still written, then the connection closes, so the rest of a body
    /// that is too large or too slow is never read.
    func stopReading() {
        channel.close(mode: .input, promise: nil)
    }
}
