-- carol.lua (lab discovery): the discovery node, named carol, joining 4000 ms late.
require("node").start("carol", 4000)
