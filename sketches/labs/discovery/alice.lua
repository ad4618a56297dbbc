-- alice.lua (lab discovery): the discovery node, named alice.
require("node").start("alice", 0)
