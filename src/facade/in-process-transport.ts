import { create, type DescMessage, type DescMethod, type DescService, isMessage } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  type ConnectRouterOptions,
  type ContextValues,
  createContextValues,
  createHandlerContext,
  createMethodImplSpec,
  createServiceImplSpec,
  type Interceptor,
  type MethodImplSpec,
  type StreamResponse,
  type Transport,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { getAbortSignalReason, invokeUnaryImplementation, runStreamingCall, runUnaryCall, transformInvokeImplementation } from "@connectrpc/connect/protocol";

/**
 * How a core answers RPCs, as the core builds it for its own server (its
 * `handlerOptions`: routes, interceptors, limits). Typed by Connect alone, so
 * the facade needs nothing from the core's code.
 */
export type InProcessCore = ConnectRouterOptions & { routes: (router: ConnectRouter) => void };

/** A handler context with the abort() that ends its deadline and signal (connect's own handlers get the same). */
type ServerContext = ReturnType<typeof createHandlerContext>;

/**
 * The reason a finished call's server signal is aborted with (as connect's
 * server aborts it after every call). One object for all calls: abort()
 * without a reason builds a DOMException with a stack each time, which was
 * 1.8% of the CPU of an MCP tools/call.
 */
const CALL_ENDED = new ConnectError("the call has ended", Code.Canceled);

/**
 * A Connect transport that calls the core's service implementations in this
 * process, like gRPC's InProcessTransport: no socket, no HTTP, no protobuf
 * encoding. What a network call would do still happens:
 * - the core's interceptors (`core.interceptors`) run around every call, on a
 *   fresh server-side context with the request's headers, so its auth check,
 *   request observer and metrics see exactly what they see over gRPC;
 * - the caller's `clientInterceptors` run as on any transport;
 * - deadlines and cancellation reach the implementation's `signal`, and a
 *   caller that stops reading a stream ends it on the server side;
 * - messages are deep-copied each way (`copyOf`), so neither side can
 *   change the other's objects;
 * - errors arrive as new ConnectErrors with the code, message, details and
 *   metadata (response headers included, e.g. `oauth-error`, `x-request-id`)
 *   a network client would get; anything but a ConnectError is "internal error".
 */
export function createDirectTransport(core: InProcessCore, clientInterceptors: Interceptor[]): Transport {
  type Served = { spec: MethodImplSpec; interceptors: Interceptor[] };
  const served = new Map<DescMethod, Served>();
  // Options given with a service replace the router's, as on connect's router.
  const interceptorsOf = (options?: Partial<ConnectRouterOptions>) => options?.interceptors ?? core.interceptors ?? [];
  // The routes register services on a router; this one only records the implementations.
  const recorder = {
    handlers: [],
    service(service: DescService, impl: object, options?: Partial<ConnectRouterOptions>) {
      const spec = createServiceImplSpec(service, impl as never);
      for (const method of service.methods) served.set(method, { spec: spec.methods[method.localName] as MethodImplSpec, interceptors: interceptorsOf(options) });
      return recorder;
    },
    rpc(method: DescMethod, impl: never, options?: Partial<ConnectRouterOptions>) {
      served.set(method, { spec: createMethodImplSpec(method, impl), interceptors: interceptorsOf(options) });
      return recorder;
    },
  };
  core.routes(recorder as unknown as ConnectRouter);

  const servedOf = (method: DescMethod): Served => {
    const s = served.get(method);
    if (!s) throw new ConnectError(`${method.parent.typeName}.${method.name} is not served by this core`, Code.Unimplemented);
    return s;
  };
  const contextFor = (method: DescMethod, url: string, signal: AbortSignal, header: Headers, timeoutMs: number | undefined): ServerContext =>
    createHandlerContext({
      service: method.parent,
      method,
      protocolName: "in-process",
      requestMethod: "POST",
      url,
      timeoutMs,
      requestSignal: signal,
      requestHeader: header,
      contextValues: createContextValues(),
    });

  /** The server's side of a unary call: the core's interceptors and implementation on `context`, copies each way. */
  async function answer(method: DescMethod, req: UnaryRequest<DescMessage, DescMessage>, context: ServerContext | CallContext): Promise<UnaryResponse<DescMessage, DescMessage>> {
    try {
      const { spec, interceptors } = servedOf(method);
      const output = await invokeUnaryImplementation(spec as never, context as ServerContext, copyOf(req.message), interceptors);
      return { stream: false, service: method.parent, method: method as never, header: context.responseHeader, trailer: context.responseTrailer, message: copyOf(output as DescMessage & never) };
    } catch (e) {
      context.abort(e);
      throw asReceived(e, context);
    } finally {
      context.abort(CALL_ENDED);
    }
  }

  /** The client's interceptors around `next`, outermost first (as connect applies them). */
  const intercepted = (next: UnaryFn): UnaryFn => clientInterceptors.reduceRight((n, i) => i(n as never) as unknown as UnaryFn, next);

  /**
   * A unary call without a deadline, the facade's usual call: what connect's
   * runUnaryCall and createHandlerContext do, with one AbortController
   * instead of four (AbortSignals are costly to make in Node: with
   * DOMExceptions for reasonless aborts, 3% of the CPU of an MCP tools/call).
   * The caller's own signal is the request's; the server's follows it and is
   * aborted when the call ends, as always.
   */
  async function unaryWithoutDeadline(
    method: DescMethod & { methodKind: "unary" },
    url: string,
    signal: AbortSignal | undefined,
    header: ConstructorParameters<typeof Headers>[0],
    input: unknown,
    contextValues: ContextValues | undefined,
  ): Promise<UnaryResponse<DescMessage, DescMessage>> {
    const next = intercepted((req) => answer(method, req, new CallContext(method, url, req.signal, req.header)));
    const message = isMessage(input, method.input) ? input : create(method.input, input as never);
    try {
      return await next({
        stream: false,
        service: method.parent,
        method,
        requestMethod: "POST",
        url,
        header: new Headers(header),
        contextValues: contextValues ?? createContextValues(),
        message,
        signal: signal ?? NEVER_ABORTED,
      });
    } catch (e) {
      throw signal?.aborted ? ConnectError.from(getAbortSignalReason(signal), Code.Canceled) : ConnectError.from(e);
    }
  }

  return {
    async unary(method, signal, timeoutMs, header, input, contextValues) {
      const url = `in-process:///${method.parent.typeName}/${method.name}`;
      if (timeoutMs === undefined) return unaryWithoutDeadline(method, url, signal, header, input, contextValues) as Promise<UnaryResponse<never, never>>;
      return (await runUnaryCall({
        interceptors: clientInterceptors,
        signal,
        timeoutMs,
        req: { stream: false, service: method.parent, method, requestMethod: "POST", url, header: new Headers(header), contextValues: contextValues ?? createContextValues(), message: input },
        next: (req) => answer(method, req as never, contextFor(method, url, req.signal, req.header, timeoutMs)) as never,
      })) as UnaryResponse<never, never>;
    },

    async stream(method, signal, timeoutMs, header, input, contextValues) {
      const url = `in-process:///${method.parent.typeName}/${method.name}`;
      return (await runStreamingCall({
        interceptors: clientInterceptors,
        signal,
        timeoutMs,
        req: { stream: true, service: method.parent, method, requestMethod: "POST", url, header: new Headers(header), contextValues: contextValues ?? createContextValues(), message: input },
        next: async (req) => {
          const { spec, interceptors } = servedOf(method);
          const context = contextFor(method, url, req.signal, req.header, timeoutMs);
          const copied = mapIterable(req.message, copyOf);
          const it = transformInvokeImplementation(spec, context, interceptors)(copied)[Symbol.asyncIterator]();
          // The caller gave up (cancelled, deadline, stopped reading): end the server's side as a network server would.
          const onAbort = () => {
            context.abort(req.signal.reason);
            void it.return?.().catch(() => undefined);
          };
          req.signal.addEventListener("abort", onAbort, { once: true });
          const finish = () => req.signal.removeEventListener("abort", onAbort);
          const message: AsyncIterable<never> = {
            [Symbol.asyncIterator]: () => ({
              next: () =>
                it.next().then(
                  (r) => {
                    // Ended because the caller gave up: that is an error for the caller (runStreamingCall
                    // turns it into the signal's reason: CANCELED, or DEADLINE_EXCEEDED), not a clean end.
                    if (req.signal.aborted) throw req.signal.reason;
                    if (r.done) {
                      finish();
                      context.abort(CALL_ENDED);
                      return r as IteratorResult<never>;
                    }
                    return { done: false, value: copyOf(r.value) as never };
                  },
                  (e: unknown) => {
                    finish();
                    context.abort(e);
                    throw asReceived(e, context);
                  },
                ),
            }),
          };
          return { stream: true, service: method.parent, method, header: context.responseHeader, trailer: context.responseTrailer, message };
        },
      })) as StreamResponse<never, never>;
    },
  };
}

/**
 * A deep copy of a message, so that neither side of the call can change the
 * other's objects. Messages of protobuf-es v2 for proto3 are plain objects,
 * arrays, Uint8Arrays and primitives (bigint included), so a structural copy
 * equals protobuf's reflective `clone` (a test checks it on this API's
 * messages) at a sixth of its cost: 13 us instead of 80 us for a
 * ListAgentsResponse of four agents.
 */
export function copyOf<T>(v: T): T {
  if (typeof v !== "object" || v === null) return v;
  if (Array.isArray(v)) return v.map(copyOf) as T;
  if (v instanceof Uint8Array) return v.slice() as T;
  const out: Record<string, unknown> = {};
  for (const k in v) out[k] = copyOf((v as Record<string, unknown>)[k]);
  return out as T;
}

type UnaryFn = (req: UnaryRequest<DescMessage, DescMessage>) => Promise<UnaryResponse<DescMessage, DescMessage>>;

/** The signal of a call nobody can cancel (no caller signal, no deadline). */
const NEVER_ABORTED = new AbortController().signal;

/**
 * The server side's HandlerContext of an in-process unary call without a
 * deadline: one AbortController, following the caller's signal and aborted
 * when the call ends, as connect's createHandlerContext makes it (which adds a
 * second one for a deadline). Plain fields only, because connect hands the
 * implementation a copy made with Object.assign.
 */
class CallContext {
  readonly service: DescService;
  readonly requestMethod = "POST";
  readonly protocolName = "in-process";
  readonly responseHeader = new Headers();
  readonly responseTrailer = new Headers();
  readonly values = createContextValues();
  readonly timeoutMs = (): number | undefined => undefined;
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly onCallerAbort = () => this.abort(this.callerSignal.reason);

  constructor(
    readonly method: DescMethod,
    readonly url: string,
    private readonly callerSignal: AbortSignal,
    readonly requestHeader: Headers,
  ) {
    this.service = method.parent;
    this.signal = this.controller.signal;
    if (callerSignal.aborted) this.abort(callerSignal.reason);
    else if (callerSignal !== NEVER_ABORTED) callerSignal.addEventListener("abort", this.onCallerAbort, { once: true });
  }

  /** Ends the call's signal (the first reason stays), and stops following the caller's. */
  abort(reason: unknown): void {
    if (this.controller.signal.aborted) return;
    this.callerSignal.removeEventListener("abort", this.onCallerAbort);
    this.controller.abort(reason ?? CALL_ENDED);
  }
}

/** The error a network client would read: a new ConnectError, its metadata holding the response headers and trailers. */
function asReceived(e: unknown, context: { responseHeader: Headers; responseTrailer: Headers }): ConnectError {
  const ce = e instanceof ConnectError ? e : new ConnectError("internal error", Code.Internal);
  const metadata = new Headers(context.responseHeader);
  context.responseTrailer.forEach((v, k) => metadata.append(k, v));
  ce.metadata.forEach((v, k) => metadata.set(k, v));
  // Details pass as they are (a network client would get them encoded, with the same type names).
  return new ConnectError(ce.rawMessage, ce.code, metadata, ce.details as never);
}

function mapIterable<T, U>(source: AsyncIterable<T>, f: (v: T) => U): AsyncIterable<U> {
  return {
    [Symbol.asyncIterator]() {
      const it = source[Symbol.asyncIterator]();
      return {
        next: () => it.next().then((r) => (r.done ? r : { done: false, value: f(r.value) })),
        return: (v?: unknown) => (it.return ? it.return(v as never).then((r) => ({ done: true as const, value: r.value as unknown as U })) : Promise.resolve({ done: true as const, value: v as U })),
      };
    },
  };
}
