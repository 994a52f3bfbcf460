// The HTTP side: the /metrics endpoint, its content negotiation and access control.
export { DEFAULT_CONNECTION_LIMITS, createMetricsHandler, listenOn } from './endpoint';
export type { ConnectionLimits, EndpointOptions, ListenOptions, TlsFiles } from './endpoint';
export { hashBasicAuthSetting, parseBasicAuthSetting, parseHashedBasicAuthSetting } from './basic-auth';
export type { BasicAuth } from './basic-auth';
export { singleFlight } from './single-flight';
