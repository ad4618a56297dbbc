/// The signatures of the built-in API, for the LuaLS file (`esplua api --luals`):
/// `name<TAB>form  |  form`, names as the registry has them (`pinMode`, `Serial.print`,
/// `WiFiClient:connect`). Taken from the binding files' header comments. Optional:
/// a registered name without a line here is declared as `f(...)`; a line naming
/// nothing registered fails `APIRegistryTests`.
public enum APIDocs {
    public static let signatures: [String: [String]] = {
        var out: [String: [String]] = [:]
        for line in table.split(separator: "\n") {
            let parts = line.split(separator: "\t", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            out[parts[0]] = parts[1].split(separator: "  |  ").map(String.init)
        }
        return out
    }()

    static let table = """
        pinMode	pinMode(pin, mode)
        digitalWrite	digitalWrite(pin, HIGH|LOW)
        digitalRead	digitalRead(pin) -> 0|1
        analogRead	analogRead(A0) -> 0..1023
        analogWrite	analogWrite(pin, value)
        analogWriteRange	analogWriteRange(range)
        analogWriteFreq	analogWriteFreq(hz)
        attachInterrupt	attachInterrupt(pin, fn, RISING|FALLING|CHANGE|ONLOW|ONHIGH)
        detachInterrupt	detachInterrupt(pin)
        digitalPinToInterrupt	digitalPinToInterrupt(pin) -> pin or NOT_AN_INTERRUPT
        interrupts	interrupts()
        noInterrupts	noInterrupts()
        tone	tone(pin, frequency [, duration_ms])
        noTone	noTone(pin)
        pulseIn	pulseIn(pin, HIGH|LOW [, timeout_us]) -> µs or 0
        pulseInLong	pulseInLong(pin, HIGH|LOW [, timeout_us]) -> µs or 0
        shiftOut	shiftOut(dataPin, clockPin, MSBFIRST|LSBFIRST, value)
        shiftIn	shiftIn(dataPin, clockPin, MSBFIRST|LSBFIRST) -> 0..255
        micros64	micros64() -> µs since boot (64-bit)
        millis	millis() -> ms since boot (32-bit)
        micros	micros() -> µs since boot (32-bit)
        delay	delay(ms)
        delayMicroseconds	delayMicroseconds(us)
        yield	yield()
        random	random(max)  |  random(min, max)
        randomSeed	randomSeed(seed)
        Serial.begin	Serial.begin([baud])
        Serial.print	Serial.print(x [, base|digits]) -> bytes
        Serial.println	Serial.println([x [, base|digits]]) -> bytes
        Serial.printf	Serial.printf(fmt, ...) -> bytes
        Serial.write	Serial.write(string|byte) -> bytes
        Serial.available	Serial.available() -> n
        Serial.read	Serial.read() -> byte or -1
        Serial.peek	Serial.peek() -> byte or -1
        Serial.readString	Serial.readString() -> string
        Serial.readStringUntil	Serial.readStringUntil(char) -> string
        Serial.setTimeout	Serial.setTimeout(ms)
        Serial.flush	Serial.flush()
        ESP.getFreeHeap	ESP.getFreeHeap() -> bytes
        ESP.getMaxFreeBlockSize	ESP.getMaxFreeBlockSize()
        ESP.getHeapFragmentation	ESP.getHeapFragmentation()
        ESP.getChipId	ESP.getChipId()
        ESP.getResetReason	ESP.getResetReason() -> "Power On" …
        ESP.restart	ESP.restart()
        ESP.wdtEnable	ESP.wdtEnable([ms])
        ESP.wdtDisable	ESP.wdtDisable()
        ESP.wdtFeed	ESP.wdtFeed()
        ESP.getCpuFreqMHz	ESP.getCpuFreqMHz()
        ESP.getCoreVersion	ESP.getCoreVersion()
        ESP.getSdkVersion	ESP.getSdkVersion()
        ESP.getLuaMemory	ESP.getLuaMemory() -> bytes
        WiFi.begin	WiFi.begin(ssid [, pass]) -> status
        WiFi.status	WiFi.status() -> WL_*
        WiFi.isConnected	WiFi.isConnected() -> bool
        WiFi.waitForConnectResult	WiFi.waitForConnectResult([ms]) -> status or -1
        WiFi.reconnect	WiFi.reconnect()
        WiFi.setAutoReconnect	WiFi.setAutoReconnect(b) -> true
        WiFi.getAutoReconnect	WiFi.getAutoReconnect() -> bool
        WiFi.disconnect	WiFi.disconnect([wifioff])
        WiFi.localIP	WiFi.localIP() -> "a.b.c.d"
        WiFi.subnetMask	WiFi.subnetMask() -> "a.b.c.d"
        WiFi.gatewayIP	WiFi.gatewayIP() -> "a.b.c.d"
        WiFi.dnsIP	WiFi.dnsIP() -> "a.b.c.d"
        WiFi.macAddress	WiFi.macAddress()
        WiFi.SSID	WiFi.SSID()  |  WiFi.SSID(i)
        WiFi.psk	WiFi.psk()
        WiFi.BSSIDstr	WiFi.BSSIDstr()  |  WiFi.BSSIDstr(i)
        WiFi.RSSI	WiFi.RSSI()  |  WiFi.RSSI(i)
        WiFi.channel	WiFi.channel()  |  WiFi.channel(i)
        WiFi.hostByName	WiFi.hostByName(name [, ms]) -> "a.b.c.d" or nil
        WiFi.mode	WiFi.mode(m)
        WiFi.getMode	WiFi.getMode() -> WIFI_*
        WiFi.enableSTA	WiFi.enableSTA(b)
        WiFi.enableAP	WiFi.enableAP(b)
        WiFi.softAP	WiFi.softAP(ssid [, psk [, channel [, hidden [, max]]]]) -> bool
        WiFi.softAPIP	WiFi.softAPIP() -> "192.168.4.1"
        WiFi.softAPmacAddress	WiFi.softAPmacAddress()
        WiFi.softAPSSID	WiFi.softAPSSID()
        WiFi.softAPPSK	WiFi.softAPPSK()
        WiFi.softAPgetStationNum	WiFi.softAPgetStationNum()
        WiFi.softAPdisconnect	WiFi.softAPdisconnect([wifioff])
        WiFi.scanNetworks	WiFi.scanNetworks([async [, show_hidden]]) -> n
        WiFi.encryptionType	WiFi.encryptionType(i)
        WiFi.isHidden	WiFi.isHidden(i)
        WiFi.scanDelete	WiFi.scanDelete()
        WiFi.onStationModeConnected	WiFi.onStationModeConnected(fn(e: ssid, bssid, channel))
        WiFi.onStationModeGotIP	WiFi.onStationModeGotIP(fn(e: ip, mask, gw))
        WiFi.onStationModeDisconnected	WiFi.onStationModeDisconnected(fn(e: ssid, bssid, reason))
        WiFi.onWiFiModeChange	WiFi.onWiFiModeChange(fn(e: oldMode, newMode))
        WiFi.onEvent	WiFi.onEvent(fn(event, info))
        WiFiServer	WiFiServer(port)
        WiFiServer:begin	server:begin([port [, backlog]]) -> bool
        WiFiServer:accept	server:accept() -> client or nil
        WiFiServer:available	server:available() -> client or nil
        WiFiServer:hasClient	server:hasClient() -> bool
        WiFiServer:hasMaxPendingClients	server:hasMaxPendingClients() -> bool
        WiFiServer:status	server:status() -> 1 (listening) or 0
        WiFiServer:port	server:port() -> port
        WiFiServer:setNoDelay	server:setNoDelay(bool)
        WiFiServer:stop	server:stop()
        WiFiServer:close	server:close()
        WiFiServer:end	server:end()
        WiFiClient	WiFiClient()
        WiFiClient:connect	client:connect(host, port) -> true/false
        WiFiClient:keepAlive	client:keepAlive([idle_s [, intv_s [, count]]])
        WiFiClient:disableKeepAlive	client:disableKeepAlive()
        WiFiClient:isKeepAliveEnabled	client:isKeepAliveEnabled()
        WiFiClient:getKeepAliveIdle	client:getKeepAliveIdle()
        WiFiClient:getKeepAliveInterval	client:getKeepAliveInterval()
        WiFiClient:getKeepAliveCount	client:getKeepAliveCount()
        WiFiClient.stopAll	WiFiClient.stopAll()
        WiFiClient.setLocalPortStart	WiFiClient.setLocalPortStart(port)
        WiFiClient:connected	client:connected() -> bool
        WiFiClient:available	client:available() -> n
        WiFiClient:availableForWrite	client:availableForWrite() -> n
        WiFiClient:read	client:read() -> byte or -1  |  client:read(n) -> string
        WiFiClient:peek	client:peek() -> byte or -1
        WiFiClient:readString	client:readString() -> string
        WiFiClient:readStringUntil	client:readStringUntil(char) -> string
        WiFiClient:print	client:print(x) -> bytes written
        WiFiClient:println	client:println([x]) -> bytes written
        WiFiClient:write	client:write(s|byte) -> bytes written
        WiFiClient:flush	client:flush([ms]) -> bool
        WiFiClient:stop	client:stop([ms]) -> bool
        WiFiClient:abort	client:abort()
        WiFiClient:status	client:status() -> 0..10
        WiFiClient:remoteIP	client:remoteIP() -> "a.b.c.d"
        WiFiClient:remotePort	client:remotePort()
        WiFiClient:localIP	client:localIP() -> "a.b.c.d"
        WiFiClient:localPort	client:localPort()
        WiFiClient:setNoDelay	client:setNoDelay(bool)
        WiFiClient:getNoDelay	client:getNoDelay()
        WiFiClient:setTimeout	client:setTimeout(ms)
        WiFiClientSecure	WiFiClientSecure()
        WiFiClientSecure.probeMaxFragmentLength	WiFiClientSecure.probeMaxFragmentLength(host, port, len) -> bool
        WiFiClientSecure:connect	client:connect(host, port) -> true/false
        WiFiClientSecure:setInsecure	client:setInsecure()
        WiFiClientSecure:setFingerprint	client:setFingerprint(hex) -> bool
        WiFiClientSecure:setTrustAnchors	client:setTrustAnchors(pem) -> bool
        WiFiClientSecure:setBufferSizes	client:setBufferSizes(recv, xmit)
        WiFiClientSecure:setX509Time	client:setX509Time(unix_s)
        WiFiClientSecure:probeMaxFragmentLength	client:probeMaxFragmentLength(host, port, len) -> bool
        WiFiClientSecure:getLastSSLError	client:getLastSSLError() -> code, text
        WiFiClientSecure:getMFLNStatus	client:getMFLNStatus() -> bool
        WiFiClientSecure:connected	client:connected() -> bool
        WiFiClientSecure:available	client:available() -> n
        WiFiClientSecure:read	client:read() -> byte or -1  |  client:read(n) -> string or nil
        WiFiClientSecure:readString	client:readString() -> string
        WiFiClientSecure:readStringUntil	client:readStringUntil(char) -> string
        WiFiClientSecure:print	client:print(x) -> bytes written
        WiFiClientSecure:println	client:println([x]) -> bytes written
        WiFiClientSecure:write	client:write(s|byte) -> bytes written
        WiFiClientSecure:stop	client:stop([ms]) -> bool
        WiFiUDP	WiFiUDP()
        WiFiUDP:begin	udp:begin(port) -> true/false
        WiFiUDP:stop	udp:stop()
        WiFiUDP:localPort	udp:localPort()
        WiFiUDP:parsePacket	udp:parsePacket() -> size (0 if none)
        WiFiUDP:available	udp:available() -> n
        WiFiUDP:read	udp:read() -> byte or -1  |  udp:read(n) -> string
        WiFiUDP:peek	udp:peek() -> byte or -1
        WiFiUDP:remoteIP	udp:remoteIP() -> "a.b.c.d"
        WiFiUDP:remotePort	udp:remotePort()
        WiFiUDP:destinationIP	udp:destinationIP()
        WiFiUDP:beginPacket	udp:beginPacket(host, port) -> true/false
        WiFiUDP:write	udp:write(s|byte) -> n
        WiFiUDP:print	udp:print(x)
        WiFiUDP:endPacket	udp:endPacket() -> true/false
        WiFiUDP.stopAll	WiFiUDP.stopAll()
        MDNS.begin	MDNS.begin(hostname) -> bool
        MDNS.end_	MDNS.end_() -> bool
        MDNS.close	MDNS.close() -> bool
        MDNS.isRunning	MDNS.isRunning() -> bool
        MDNS.setHostname	MDNS.setHostname(name) -> bool
        MDNS.addService	MDNS.addService(service, proto, port) -> bool  |  MDNS.addService(name, service, proto, port) -> bool
        MDNS.addServiceTxt	MDNS.addServiceTxt(service, proto, key, value) -> bool
        MDNS.update	MDNS.update() -> bool
        MDNS.announce	MDNS.announce() -> bool
        MDNS.queryService	MDNS.queryService(service, proto [, timeout_ms]) -> n
        MDNS.hostname	MDNS.hostname(i) -> "name.local"
        MDNS.IP	MDNS.IP(i) -> "a.b.c.d"
        MDNS.port	MDNS.port(i) -> port
        MDNS.removeQuery	MDNS.removeQuery() -> bool
        lwip.pcbs	lwip.pcbs() -> { {state, localIP, localPort, remoteIP, remotePort, unacked, unsent, unread, timeWaitMs, heap}, … }
        lwip.allocations	lwip.allocations() -> count, bytes
        tcp_kill_timewait	tcp_kill_timewait() -> true if one was freed
        tcpCleanup	tcpCleanup() -> count
        configTime	configTime(tz_sec, dst_sec, server1 [, server2 [, server3]])  |  configTime(TZ, server1 [, server2 [, server3]])
        setTZ	setTZ(TZ)
        TZ	TZ("Europe/London") -> POSIX TZ string of the core's TZ.h
        getenv	getenv("TZ") -> string or nil
        time	time() -> seconds since 1970
        gettimeofday	gettimeofday() -> sec, usec
        settimeofday	settimeofday(sec [, usec]) -> 0
        settimeofday_cb	settimeofday_cb(fn(fromSNTP))
        clock_gettime	clock_gettime() -> sec, nsec since boot
        localtime	localtime([t]) -> tm table
        gmtime	gmtime([t]) -> tm table
        getLocalTime	getLocalTime([ms]) -> tm table or false
        ctime	ctime([t]) -> "Sun Mar 31 02:00:00 2024\n"
        strftime	strftime(fmt [, t]) -> string
        sntp_getservername	sntp_getservername(i) -> name or nil
        sntp_getserver	sntp_getserver(i) -> "a.b.c.d"
        sntp_getreachability	sntp_getreachability(i) -> bits
        sntp_enabled	sntp_enabled() -> bool
        ADC_MODE	ADC_MODE(ADC_VCC|ADC_TOUT)
        ESP.deepSleep	ESP.deepSleep(us [, mode])
        ESP.deepSleepInstant	ESP.deepSleepInstant(us [, mode])
        ESP.getResetInfo	ESP.getResetInfo() -> string
        ESP.rtcUserMemoryRead	ESP.rtcUserMemoryRead(offset, size) -> string or nil
        ESP.rtcUserMemoryWrite	ESP.rtcUserMemoryWrite(offset, data) -> bool
        ESP.getVcc	ESP.getVcc() -> 1/1024 V
        ESP.getFullVersion	ESP.getFullVersion() -> string
        ESP.getFlashChipSize	ESP.getFlashChipSize() -> bytes
        ESP.getFlashChipRealSize	ESP.getFlashChipRealSize() -> bytes
        ESP.getSketchSize	ESP.getSketchSize() -> bytes
        ESP.getFreeSketchSpace	ESP.getFreeSketchSpace() -> bytes
        Serial.setDebugOutput	Serial.setDebugOutput(b)
        WiFi.config	WiFi.config(ip, gateway, mask [, dns1 [, dns2]]) -> bool
        WiFi.broadcastIP	WiFi.broadcastIP() -> "a.b.c.255"
        WiFi.setAutoReconnect	WiFi.setAutoReconnect(b) -> bool
        WiFi.getAutoReconnect	WiFi.getAutoReconnect() -> bool
        ESP8266WiFiMulti:addAP	multi:addAP(ssid [, passphrase]) -> bool
        ESP8266WiFiMulti:existsAP	multi:existsAP(ssid [, passphrase]) -> bool
        ESP8266WiFiMulti:cleanAPlist	multi:cleanAPlist()
        ESP8266WiFiMulti:run	multi:run([connectTimeoutMs]) -> WL_CONNECTED|WL_CONNECT_FAILED|WL_NO_SSID_AVAIL
        """
}
