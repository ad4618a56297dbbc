-- ntp_tz_dst.lua: the core's NTP-TZ-DST example (libraries/esp8266/examples/NTP-TZ-DST,
-- v2) in Lua, line for line where Lua allows: a time set by hand (an "RTC"), then
-- configTime(TZ, "pool.ntp.org") -- lwIP's SNTP client asks the world's NTP service
-- (ntp_tz_dst.world.json: its clock reads 2024-03-31 00:59:00 UTC at board time 0, a
-- minute before London's clocks go forward), and the "time machine" demo of libc's
-- DST handling that the first SNTP answer starts.
--   esplua run sketches/ntp_tz_dst.lua --time virtual --for 70s

local STASSID = "your-ssid"
local STAPSK = "your-password"

-- initial time (possibly given by an external RTC)
local RTC_UTC_TEST = 1510592825 -- 1510592825 = Monday 13 November 2017 17:07:05 UTC

-- example of a timezone with a variable Daylight-Saving-Time:
-- demo: watch automatic time adjustment on Summer/Winter change (DST)
local MYTZ = TZ("Europe/London") -- TZ_Europe_London

local now

-- esp8266::polledTimeout::periodicMs showTimeNow(60000)
local function periodicMs(ms)
  local next = millis() + ms
  return function()
    if millis() >= next then next = next + ms; return true end
    return false
  end
end
local showTimeNow = periodicMs(60000)
local time_machine_days = 0 -- 0 = present
local time_machine_running = false
local time_machine_run_once = false

local function printTm(what, tm)
  Serial.print(what)
  for _, w in ipairs({ "isdst", "yday", "wday", "year", "mon", "mday", "hour", "min", "sec" }) do
    Serial.print(" " .. w .. "=")          -- PTM(w)
    Serial.print(tm["tm_" .. w])
  end
end

local function showTime()
  local tv_sec, tv_usec = gettimeofday()
  local tp_sec, tp_nsec = clock_gettime(0)
  now = time()
  local now_ms = millis()
  local now_us = micros()

  Serial.println()
  printTm("localtime:", localtime(now))
  Serial.println()
  printTm("gmtime:   ", gmtime(now))
  Serial.println()

  -- time from boot
  Serial.print("clock:     ")
  Serial.print(tp_sec)
  Serial.print("s + ")
  Serial.print(tp_nsec)
  Serial.println("ns")

  -- time from boot
  Serial.print("millis:    ")
  Serial.println(now_ms)
  Serial.print("micros:    ")
  Serial.println(now_us)

  -- EPOCH+tz+dst
  Serial.print("gtod:      ")
  Serial.print(tv_sec)
  Serial.print("s + ")
  Serial.print(tv_usec)
  Serial.println("us")

  -- EPOCH+tz+dst
  Serial.print("time:      ")
  Serial.println(now)

  -- timezone and demo in the future
  Serial.printf("timezone:  %s\n", getenv("TZ") or "(none)")

  -- human readable
  Serial.print("ctime:     ")
  Serial.print(ctime(now))

  -- lwIP v2 is able to list more details about the currently configured SNTP servers
  for i = 0, SNTP_MAX_SERVERS - 1 do
    local sntp = sntp_getserver(i)
    local name = sntp_getservername(i)
    if sntp ~= "0.0.0.0" then
      Serial.printf("sntp%d:     ", i)
      if name then
        Serial.printf("%s (%s) ", name, sntp)
      else
        Serial.printf("%s ", sntp)
      end
      Serial.printf("- IPv6: %s - Reachability: %o\n", "No", sntp_getreachability(i))
    end
  end

  Serial.println()

  -- show subsecond synchronisation
  local prevtime = time()
  local prev_sec, prev_usec = gettimeofday()

  while true do
    tv_sec, tv_usec = gettimeofday()
    if tv_sec ~= prev_sec then
      Serial.printf("time(): %u   gettimeofday(): %u.%06u  seconds are unchanged\n", prevtime, prev_sec, prev_usec)
      prevtime = time()
      Serial.printf("time(): %u   gettimeofday(): %u.%06u  <-- seconds have changed\n", prevtime, tv_sec, tv_usec)
      break
    end
    prev_sec, prev_usec = tv_sec, tv_usec
    delay(50)
  end

  Serial.println()
end

local function time_is_set(from_sntp)
  -- in CONT stack, unlike ISRs,
  -- any function is allowed in this callback

  if time_machine_days == 0 then
    if time_machine_running then
      time_machine_run_once = true
      time_machine_running = false
    else
      time_machine_running = from_sntp and not time_machine_run_once
    end
    if time_machine_running then
      Serial.printf("\n-- \n-- Starting time machine demo to show libc's automatic DST handling\n-- \n")
    end
  end

  Serial.print("settimeofday(")
  if from_sntp then
    Serial.print("SNTP")
  else
    Serial.print("USER")
  end
  Serial.print(")")

  -- time machine demo
  if time_machine_running then
    now = time()
    local tm = localtime(now)
    Serial.printf(": future=%3ddays: DST=%s - ", time_machine_days, tm.tm_isdst ~= 0 and "true " or "false")
    Serial.print(ctime(now))
    local tv_sec, tv_usec = gettimeofday()
    local days = 30
    time_machine_days = time_machine_days + days
    if time_machine_days > 360 then
      tv_sec = tv_sec - (time_machine_days - days) * 60 * 60 * 24
      time_machine_days = 0
    else
      tv_sec = tv_sec + days * 60 * 60 * 24
    end
    settimeofday(tv_sec, tv_usec)
  else
    Serial.println()
  end
end

function setup()
  WiFi.persistent(false)
  WiFi.mode(WIFI_OFF)

  Serial.begin(115200)
  Serial.println("\nStarting in 2secs...\n")
  delay(2000)

  -- install callback - called when settimeofday is called (by SNTP or user)
  -- once enabled (by DHCP), SNTP is updated every hour by default
  -- ** optional boolean in callback function is true when triggered by SNTP **
  settimeofday_cb(time_is_set)

  -- setup RTC time
  -- it will be used until NTP server will send us real current time
  Serial.println("Manually setting some time from some RTC:")
  local rtc = RTC_UTC_TEST
  settimeofday(rtc, 0)

  -- NTP servers may be overridden by your DHCP server for a more local one
  -- (see below)

  -- ----> Here is the ONLY ONE LINE needed in your sketch
  configTime(MYTZ, "pool.ntp.org")
  -- <----
  -- Replace MYTZ by a zone of TZ.h: TZ("Europe/Paris"), TZ("America/New_York") ...

  -- Give now a chance to the settimeofday callback,
  -- because it is *always* deferred to the next yield()/loop()-call.
  yield()

  -- start network
  WiFi.mode(WIFI_STA)
  WiFi.begin(STASSID, STAPSK)

  -- don't wait for network, observe time changing
  -- when NTP timestamp is received
  showTime()
end

function loop()
  if showTimeNow() then showTime() end
end
