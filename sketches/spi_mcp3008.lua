-- spi_mcp3008.lua: reads an MCP3008 ADC over SPI, the way its datasheet draws the
-- exchange: [start][single-ended | channel][don't care], the 10-bit code in the
-- last 10 bits of the reply. The wiring file puts it on chip select GPIO15 with a
-- potentiometer on channel 0 that a student turns at 4 s, and 1.65 V on channel 1.
local SPI = require("SPI")
local CS = 15

local function readChannel(ch)
  SPI.beginTransaction(SPISettings(1000000, MSBFIRST, SPI_MODE0))
  digitalWrite(CS, LOW)
  local r = SPI.transfer(string.char(0x01, 0x80 | (ch << 4), 0x00))
  digitalWrite(CS, HIGH)
  SPI.endTransaction()
  return ((r:byte(2) & 0x03) << 8) | r:byte(3)
end

function setup()
  Serial.begin(115200)
  pinMode(CS, OUTPUT)
  digitalWrite(CS, HIGH)
  SPI.begin()
  print("without chip select: 0x" .. string.format("%02X", SPI.transfer(0x01)))
end

function loop()
  local pot, mid = readChannel(0), readChannel(1)
  print(string.format("%4.1f s  ch0 %4d (%.2f V)  ch1 %4d (%.2f V)", millis() / 1000, pot, pot * 3.3 / 1024, mid, mid * 3.3 / 1024))
  delay(1000)
end
