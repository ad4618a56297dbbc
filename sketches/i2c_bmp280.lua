-- i2c_bmp280.lua: reads a Bosch BMP280 over I2C the way its datasheet says:
-- chip id, calibration words, normal mode, then raw readings compensated with
-- the datasheet's integer formulas. The wiring file places the sensor at 0x76
-- and warms it from 21.5 to 30 degrees at 10 s.
local Wire = require("Wire")
local ADDR = 0x76
local cal = {}

local function readRegs(reg, n)
  Wire.beginTransmission(ADDR)
  Wire.write(reg)
  if Wire.endTransmission(false) ~= 0 then return nil end
  Wire.requestFrom(ADDR, n)
  local t = {}
  for i = 1, n do t[i] = Wire.read() end
  return t
end

local function u16(t, i) return t[i] | (t[i + 1] << 8) end
local function s16(t, i) local v = u16(t, i); return v >= 0x8000 and v - 0x10000 or v end
local function shr(v, n) return v // (1 << n) end   -- arithmetic shift, as in C

function setup()
  Serial.begin(115200)
  Wire.begin(4, 5)
  local id = readRegs(0xD0, 1)
  print(string.format("chip id 0x%02X (a BMP280 answers 0x58)", id[1]))
  Wire.beginTransmission(0x77)
  print("nothing at 0x77: endTransmission() = " .. Wire.endTransmission())
  local c = readRegs(0x88, 24)
  cal.T1, cal.T2, cal.T3 = u16(c, 1), s16(c, 3), s16(c, 5)
  cal.P = { u16(c, 7) }
  for i = 2, 9 do cal.P[i] = s16(c, 7 + (i - 1) * 2) end
  print(string.format("dig_T1 %d dig_T2 %d dig_T3 %d dig_P1 %d", cal.T1, cal.T2, cal.T3, cal.P[1]))
  Wire.beginTransmission(ADDR); Wire.write(0xF4); Wire.write(0x27); Wire.endTransmission()   -- normal mode
end

local function compensate(adcT, adcP)
  local var1 = shr((shr(adcT, 3) - (cal.T1 << 1)) * cal.T2, 11)
  local var2 = shr(shr((shr(adcT, 4) - cal.T1) * (shr(adcT, 4) - cal.T1), 12) * cal.T3, 14)
  local tFine = var1 + var2
  local T = shr(tFine * 5 + 128, 8)
  local P = cal.P
  var1 = tFine - 128000
  var2 = var1 * var1 * P[6] + ((var1 * P[5]) << 17) + (P[4] << 35)
  var1 = shr(var1 * var1 * P[3], 8) + ((var1 * P[2]) << 12)
  var1 = shr(((1 << 47) + var1) * P[1], 33)
  if var1 == 0 then return T, 0 end
  local p = 1048576 - adcP
  p = (((p << 31) - var2) * 3125) // var1
  var1 = shr(P[9] * shr(p, 13) * shr(p, 13), 25)
  var2 = shr(P[8] * p, 19)
  p = shr(p + var1 + var2, 8) + (P[7] << 4)
  return T, p
end

function loop()
  local d = readRegs(0xF7, 6)
  local adcP = (d[1] << 12) | (d[2] << 4) | (d[3] >> 4)
  local adcT = (d[4] << 12) | (d[5] << 4) | (d[6] >> 4)
  local T, p = compensate(adcT, adcP)
  print(string.format("%5.1f s  %.2f C  %.2f hPa  (raw T %d, P %d)", millis() / 1000, T / 100, p / 25600, adcT, adcP))
  delay(2500)
end
