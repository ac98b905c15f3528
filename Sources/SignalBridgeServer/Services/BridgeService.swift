import ServiceLifecycle

/// A service of the bridge. It describes itself by its type only: swift-service-lifecycle logs each service's
/// description at debug level, and the default one of a struct shows every stored property, the configuration (and
/// its notification URLs, which may hold a chat service's token) among them.
protocol BridgeService: Service, CustomStringConvertible {}

extension BridgeService {
    var description: String { String(describing: Self.self) }
}
