import LuaRuntime

// local http = HTTPClient()
// http:begin(client, url) -> bool        http:begin(client, host, port [, uri [, https]]) -> bool
// http:GET() / http:DELETE() -> code     http:POST(s) / http:PUT(s) / http:PATCH(s) -> code
// http:sendRequest(method [, payload]) -> code (HTTP code, or HTTPC_ERROR_* < 0)
// http:addHeader(name, value [, first [, replace]])   http:collectHeaders(name, …)   http:header(name|i)
// http:hasHeader(name)   http:headers()   http:headerName(i)   http:getLocation()
// http:getString() -> body               http:getSize() -> Content-Length or -1   http:getStream() -> WiFiClient
// http:errorToString(code) -> string     http:setTimeout(ms)   http:setReuse(bool)   http:useHTTP10(bool)
// http:setUserAgent(s)   http:setAuthorization(user, pass)   http:setFollowRedirects(HTTPC_…)   http:setURL(url)
// http:connected() -> bool               http:end_() (also http["end"](http))
// constants HTTPC_ERROR_CONNECTION_FAILED (-1) … HTTPC_ERROR_READ_TIMEOUT (-11), HTTP_CODE_OK …
//
// Written in Lua (Libraries/ESP8266HTTPClient.lua.swift) over the WiFiClient binding,
// as the core writes it in C++ over WiFiClient.
enum ESP8266HTTPClientBindings {
    static let className = "HTTPClient"

    static func register(in state: LuaState, ctx: SketchContext) {
        LuaLibraries.install(LuaLibraries.httpClient, name: "ESP8266HTTPClient", in: state, ctx: ctx)
    }
}
