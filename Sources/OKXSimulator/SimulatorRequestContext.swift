import Hummingbird
import NIOCore

/// The simulator's request context: it keeps the connection, so a fault can drop it without an answer.
public struct SimulatorRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}
