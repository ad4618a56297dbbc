import LuaRuntime

// local server = ESP8266WebServer([port=80])
// server:on(uri [, method], fn)   server:onNotFound(fn)   server:serveStatic(uri, LittleFS, path [, cacheHeader])
// server:begin([port])            server:handleClient()   server:close() / server:stop()
// server:send(code [, type [, body]])   server:sendHeader(name, value [, first])   server:setContentLength(n)
// server:sendContent(s)           server:chunkedResponseModeStart(code, type) -> bool   server:redirect(url)
// server:streamFile(file, type [, method]) -> bytes sent
// server:arg(name|i) -> string    server:argName(i)   server:args() -> n   server:hasArg(name) -> bool
// server:uri() -> string          server:method() -> HTTP_GET …   server:client() -> WiFiClient
// server:header(name|i)           server:headerName(i)   server:headers() -> n   server:hasHeader(name)
// server:collectHeaders(name, …)  server:hostHeader()    server:keepAlive([bool])   server:enableCORS(bool)
// server:authenticate(user, pass) -> bool   server:requestAuthentication([BASIC_AUTH [, realm [, failMsg]]])
// constants HTTP_ANY HTTP_GET HTTP_HEAD HTTP_POST HTTP_PUT HTTP_PATCH HTTP_DELETE HTTP_OPTIONS
//           BASIC_AUTH DIGEST_AUTH CONTENT_LENGTH_UNKNOWN CONTENT_LENGTH_NOT_SET
//
// Written in Lua (Libraries/ESP8266WebServer.lua.swift) over the WiFiServer and
// WiFiClient bindings, as the core writes it in C++ over WiFiServer/WiFiClient:
// its connection handling (timeouts, keep-alive, when the client is stopped or
// dropped) is the core's, and the wire is the ClientContext model's.
enum ESP8266WebServerBindings {
    static let className = "ESP8266WebServer"

    static func register(in state: LuaState, ctx: SketchContext) {
        LuaLibraries.install(LuaLibraries.webServer, name: "ESP8266WebServer", in: state, ctx: ctx)
    }
}
