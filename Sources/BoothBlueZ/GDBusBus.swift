import CGio
import Foundation
import Synchronization

/// A GLib main loop on its own thread. Every GDBus call and signal callback of the bus runs here, so the
/// connection has a single owner and no Swift cooperative thread ever blocks on D-Bus.
final class GLibLoopThread: @unchecked Sendable {
    // Immutable after init; GMainContext and GMainLoop are thread-safe for invoke/quit.
    let context: OpaquePointer
    private let loop: OpaquePointer
    private let finished = DispatchSemaphore(value: 0)

    private final class Work {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    init(name: String) {
        context = g_main_context_new()
        loop = g_main_loop_new(context, 0)
        nonisolated(unsafe) let context = context
        nonisolated(unsafe) let loop = loop
        let finished = finished
        let thread = Thread {
            g_main_context_push_thread_default(context)
            g_main_loop_run(loop)
            g_main_context_pop_thread_default(context)
            finished.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Runs `body` on the loop thread (soon, in order).
    func perform(_ body: @escaping @Sendable () -> Void) {
        let work = Unmanaged.passRetained(Work(body)).toOpaque()
        g_main_context_invoke_full(
            context,
            G_PRIORITY_DEFAULT,
            { data in
                guard let data else { return 0 }
                Unmanaged<Work>.fromOpaque(data).takeRetainedValue().body()
                return 0  // G_SOURCE_REMOVE
            },
            work,
            nil
        )
    }

    /// Stops the loop and waits for its thread to end. Not to be called from the loop thread.
    func stop() {
        nonisolated(unsafe) let loop = loop
        perform { g_main_loop_quit(loop) }
        finished.wait()
        g_main_loop_unref(loop)
        g_main_context_unref(context)
    }
}

/// One signal as delivered by GDBus.
struct DBusSignal: Sendable {
    var sender: String
    var path: String
    var interface: String
    var member: String
    var body: DBusValue
}

/// What an exported object's method handler answers.
enum DBusMethodReply: Sendable {
    /// The reply body (a tuple), or nil for an empty reply.
    case value(DBusValue?)
    case error(name: String, message: String)
}

/// The system bus connection (GDBusConnection), owned by one GLib loop thread.
final class GDBusBus: Sendable {
    private let loop: GLibLoopThread
    // GDBusConnection is thread-safe in GLib; we only touch it from the loop thread anyway.
    private nonisolated(unsafe) let connection: OpaquePointer
    private let subscriptions = Mutex<Set<UInt32>>([])
    /// Set by close(): later calls fail at once instead of touching the released connection.
    private let closed = Mutex(false)

    private final class SignalHandler {
        let handle: @Sendable (DBusSignal) -> Void
        init(_ handle: @escaping @Sendable (DBusSignal) -> Void) { self.handle = handle }
    }

    private final class MethodHandler {
        let handle: @Sendable (String, DBusValue) -> DBusMethodReply
        init(_ handle: @escaping @Sendable (String, DBusValue) -> DBusMethodReply) { self.handle = handle }
    }

    private final class CallCompletion {
        let resume: (Result<DBusValue, BlueZError>) -> Void
        let method: String
        init(method: String, _ resume: @escaping (Result<DBusValue, BlueZError>) -> Void) {
            self.method = method
            self.resume = resume
        }
    }

    private init(loop: GLibLoopThread, connection: OpaquePointer) {
        self.loop = loop
        self.connection = connection
    }

    /// Connects to the system bus (`DBUS_SYSTEM_BUS_ADDRESS` overrides the default socket, as GLib does).
    static func system() async throws(BlueZError) -> GDBusBus {
        let loop = GLibLoopThread(name: "boothd-gdbus")
        let result: Result<OpaquePointer, BlueZError> = await withCheckedContinuation { continuation in
            loop.perform {
                var error: UnsafeMutablePointer<GError>?
                guard let connection = g_bus_get_sync(G_BUS_TYPE_SYSTEM, nil, &error) else {
                    continuation.resume(returning: .failure(.busUnavailable(takeMessage(error))))
                    return
                }
                // The default would exit the whole process when the bus goes away.
                g_dbus_connection_set_exit_on_close(connection, 0)
                continuation.resume(returning: .success(connection))
            }
        }
        switch result {
        case .success(let connection): return GDBusBus(loop: loop, connection: connection)
        case .failure(let error):
            loop.stop()
            throw error
        }
    }

    /// The number of signal subscriptions currently held (leak checks).
    var subscriptionCount: Int { subscriptions.withLock { $0.count } }

    /// Calls a method; `arguments` is a tuple (or nil for none). `timeout` in seconds. `inLoop` sees the reply
    /// on the loop thread, in order with the signals received before and after it.
    func call(
        _ destination: String,
        _ path: String,
        _ interface: String,
        _ method: String,
        _ arguments: DBusValue? = nil,
        timeout: Double = 25,
        inLoop: (@Sendable (DBusValue) -> Void)? = nil
    ) async throws(BlueZError) -> DBusValue {
        nonisolated(unsafe) let connection = connection
        let label = "\(interface.split(separator: ".").last ?? "").\(method)"
        if closed.withLock({ $0 }) { throw .busUnavailable("connection closed") }
        let result: Result<DBusValue, BlueZError> = await withCheckedContinuation { continuation in
            loop.perform {
                let completion = Unmanaged.passRetained(
                    CallCompletion(method: label) { result in
                        if case .success(let reply) = result { inLoop?(reply) }
                        continuation.resume(returning: result)
                    }
                ).toOpaque()
                g_dbus_connection_call(
                    connection,
                    destination,
                    path,
                    interface,
                    method,
                    arguments.map(GVariantCodec.encode),
                    nil,
                    G_DBUS_CALL_FLAGS_NONE,
                    Int32(timeout * 1000),
                    nil,
                    { source, asyncResult, data in
                        guard let data else { return }
                        let completion = Unmanaged<CallCompletion>.fromOpaque(data).takeRetainedValue()
                        var error: UnsafeMutablePointer<GError>?
                        let reply = g_dbus_connection_call_finish(OpaquePointer(source), asyncResult, &error)
                        guard let reply else {
                            completion.resume(.failure(GDBusBus.callError(completion.method, error)))
                            return
                        }
                        defer { g_variant_unref(reply) }
                        completion.resume(.success(GVariantCodec.decode(reply)))
                    },
                    completion
                )
            }
        }
        return try result.get()
    }

    /// Calls a method whose reply is `(h fd, q mtu)` with the fd passed alongside (BlueZ's AcquireNotify and
    /// AcquireWrite). The caller owns the returned fd.
    func callForFD(
        _ destination: String,
        _ path: String,
        _ interface: String,
        _ method: String,
        _ arguments: DBusValue,
        timeout: Double = 25
    ) async throws(BlueZError) -> (fd: Int32, mtu: Int) {
        nonisolated(unsafe) let connection = connection
        let label = "\(interface.split(separator: ".").last ?? "").\(method)"
        if closed.withLock({ $0 }) { throw .busUnavailable("connection closed") }
        let result: Result<(fd: Int32, mtu: Int), BlueZError> = await withCheckedContinuation { continuation in
            loop.perform {
                final class Completion {
                    let resume: (Result<(fd: Int32, mtu: Int), BlueZError>) -> Void
                    let method: String
                    init(_ method: String, _ resume: @escaping (Result<(fd: Int32, mtu: Int), BlueZError>) -> Void) {
                        self.method = method
                        self.resume = resume
                    }
                }
                let completion = Unmanaged.passRetained(
                    Completion(label) { continuation.resume(returning: $0) }
                ).toOpaque()
                g_dbus_connection_call_with_unix_fd_list(
                    connection,
                    destination,
                    path,
                    interface,
                    method,
                    GVariantCodec.encode(arguments),
                    nil,
                    G_DBUS_CALL_FLAGS_NONE,
                    Int32(timeout * 1000),
                    nil,
                    nil,
                    { source, asyncResult, data in
                        guard let data else { return }
                        let completion = Unmanaged<Completion>.fromOpaque(data).takeRetainedValue()
                        var error: UnsafeMutablePointer<GError>?
                        var fdList: UnsafeMutablePointer<GUnixFDList>?
                        let reply = g_dbus_connection_call_with_unix_fd_list_finish(
                            OpaquePointer(source),
                            &fdList,
                            asyncResult,
                            &error
                        )
                        defer { if let fdList { g_object_unref(UnsafeMutableRawPointer(fdList)) } }
                        guard let reply else {
                            completion.resume(.failure(GDBusBus.callError(completion.method, error)))
                            return
                        }
                        defer { g_variant_unref(reply) }
                        let signature = String(cString: g_variant_get_type_string(reply))
                        guard signature == "(hq)", let fdList else {
                            completion.resume(
                                .failure(.unexpectedReply(method: completion.method, signature: signature))
                            )
                            return
                        }
                        let first: OpaquePointer? = g_variant_get_child_value(reply, 0)
                        let second: OpaquePointer? = g_variant_get_child_value(reply, 1)
                        defer {
                            if let first { g_variant_unref(first) }
                            if let second { g_variant_unref(second) }
                        }
                        let index = g_variant_get_handle(first)
                        let mtu = Int(g_variant_get_uint16(second))
                        // A duplicate the caller owns; the list's own copies close with the list.
                        let fd = g_unix_fd_list_get(fdList, index, &error)
                        guard fd >= 0 else {
                            completion.resume(.failure(GDBusBus.callError(completion.method, error)))
                            return
                        }
                        completion.resume(.success((fd, mtu)))
                    },
                    completion
                )
            }
        }
        return try result.get()
    }

    /// Subscribes to signals; the handler runs on the loop thread. Returns the id to unsubscribe with.
    func subscribe(
        sender: String?,
        interface: String?,
        member: String?,
        path: String? = nil,
        arg0: String? = nil,
        _ handler: @escaping @Sendable (DBusSignal) -> Void
    ) async -> UInt32 {
        nonisolated(unsafe) let connection = connection
        let id: UInt32 = await withCheckedContinuation { continuation in
            loop.perform {
                let box = Unmanaged.passRetained(SignalHandler(handler)).toOpaque()
                let id = g_dbus_connection_signal_subscribe(
                    connection,
                    sender,
                    interface,
                    member,
                    path,
                    arg0,
                    G_DBUS_SIGNAL_FLAGS_NONE,
                    { _, sender, path, interface, member, parameters, data in
                        guard let data, let parameters else { return }
                        let handler = Unmanaged<SignalHandler>.fromOpaque(data).takeUnretainedValue()
                        handler.handle(
                            DBusSignal(
                                sender: sender.map { String(cString: $0) } ?? "",
                                path: path.map { String(cString: $0) } ?? "",
                                interface: interface.map { String(cString: $0) } ?? "",
                                member: member.map { String(cString: $0) } ?? "",
                                body: GVariantCodec.decode(parameters)
                            )
                        )
                    },
                    box,
                    { data in
                        if let data { Unmanaged<SignalHandler>.fromOpaque(data).release() }
                    }
                )
                continuation.resume(returning: id)
            }
        }
        subscriptions.withLock { _ = $0.insert(id) }
        return id
    }

    func unsubscribe(_ id: UInt32) {
        guard subscriptions.withLock({ $0.remove(id) }) != nil else { return }
        nonisolated(unsafe) let connection = connection
        loop.perform { g_dbus_connection_signal_unsubscribe(connection, id) }
    }

    /// Exports an object implementing the single interface described by `introspection` (D-Bus XML).
    /// The handler runs on the loop thread and must not block. Returns the registration id.
    func export(
        path: String,
        introspection: String,
        _ handler: @escaping @Sendable (String, DBusValue) -> DBusMethodReply
    ) async throws(BlueZError) -> UInt32 {
        nonisolated(unsafe) let connection = connection
        let result: Result<UInt32, BlueZError> = await withCheckedContinuation { continuation in
            loop.perform {
                var error: UnsafeMutablePointer<GError>?
                guard let node = g_dbus_node_info_new_for_xml(introspection, &error) else {
                    continuation.resume(
                        returning: .failure(.callFailed(method: "export", name: "xml", message: takeMessage(error)))
                    )
                    return
                }
                defer { g_dbus_node_info_unref(node) }
                guard let interface = node.pointee.interfaces?[0] else {
                    continuation.resume(
                        returning: .failure(.callFailed(method: "export", name: "xml", message: "no interface"))
                    )
                    return
                }
                var vtable = GDBusInterfaceVTable()
                vtable.method_call = { _, _, _, _, method, parameters, invocation, data in
                    guard let data, let method, let invocation else { return }
                    let handler = Unmanaged<MethodHandler>.fromOpaque(data).takeUnretainedValue()
                    let arguments = parameters.map(GVariantCodec.decode) ?? .tuple([])
                    switch handler.handle(String(cString: method), arguments) {
                    case .value(let body):
                        g_dbus_method_invocation_return_value(invocation, body.map(GVariantCodec.encode))
                    case .error(let name, let message):
                        g_dbus_method_invocation_return_dbus_error(invocation, name, message)
                    }
                }
                let box = Unmanaged.passRetained(MethodHandler(handler)).toOpaque()
                let id = g_dbus_connection_register_object(
                    connection,
                    path,
                    interface,
                    &vtable,
                    box,
                    { data in
                        if let data { Unmanaged<MethodHandler>.fromOpaque(data).release() }
                    },
                    &error
                )
                if id == 0 {
                    continuation.resume(
                        returning: .failure(.callFailed(method: "export", name: path, message: takeMessage(error)))
                    )
                } else {
                    continuation.resume(returning: .success(id))
                }
            }
        }
        return try result.get()
    }

    func unexport(_ id: UInt32) {
        nonisolated(unsafe) let connection = connection
        loop.perform { _ = g_dbus_connection_unregister_object(connection, id) }
    }

    /// Drops every subscription and closes the loop thread.
    func close() {
        guard
            !closed.withLock({ closed in
                defer { closed = true }
                return closed
            })
        else { return }
        let ids = subscriptions.withLock { ids in
            defer { ids.removeAll() }
            return ids
        }
        nonisolated(unsafe) let connection = connection
        loop.perform {
            for id in ids { g_dbus_connection_signal_unsubscribe(connection, id) }
            g_object_unref(UnsafeMutableRawPointer(connection))
        }
        loop.stop()
    }

    private static func callError(_ method: String, _ error: UnsafeMutablePointer<GError>?) -> BlueZError {
        guard let error else { return .callFailed(method: method, name: "unknown", message: "no error detail") }
        var name = "org.freedesktop.DBus.Error.Failed"
        if let remote = g_dbus_error_get_remote_error(error) {
            name = String(cString: remote)
            g_free(remote)
            g_dbus_error_strip_remote_error(error)
        } else if error.pointee.domain == g_io_error_quark(), error.pointee.code == Int32(G_IO_ERROR_TIMED_OUT.rawValue)
        {
            name = "timeout"
        }
        return .callFailed(method: method, name: name, message: takeMessage(error))
    }
}

/// The message of a GError, which is freed.
private func takeMessage(_ error: UnsafeMutablePointer<GError>?) -> String {
    guard let error else { return "unknown error" }
    defer { g_error_free(error) }
    return error.pointee.message.map { String(cString: $0) } ?? "unknown error"
}
