-- bob.lua (lab discovery): the discovery node, named bob.
require("node").start("bob", 0)
