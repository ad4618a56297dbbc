# esplua: two commands do everything on a fresh Debian 12 machine.
#   make run SKETCH=sketches/hello_server.lua ARGS="--forward 8080:80"
#   make test
# Both run `setup` first: it installs missing Debian packages and fetches
# Debian's lwip source package (once; quick when already done).

SWIFT ?= swift
SKETCH ?= sketches/blink.lua
ARGS ?=
CONFIG ?= release

.PHONY: setup build run test bench variant-1460 format clean

setup:
	@bash .ci/setup.sh

build: setup
	$(SWIFT) build -c $(CONFIG)   # esplua and the plugins beside it

run: build
	$(SWIFT) run -c $(CONFIG) --skip-build esplua run $(SKETCH) $(ARGS)

test: setup
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-swift-testing

# esplua with the core's "v2 Higher Bandwidth" lwIP (MSS 1460, window 5840) in .build-1460
variant-1460: setup
	$(SWIFT) build -c release --product esplua --scratch-path .build-1460 -Xcc -DTCP_MSS=1460

# the benchmark table (release builds; the run itself takes about a minute)
bench: setup variant-1460
	$(SWIFT) build -c release
	.build/release/Benchmarks

# formats every Swift file with the checked-in .swift-format configuration
format:
	$(SWIFT) format format -i -r --configuration .swift-format Package.swift Sources Tests plugins

clean:
	rm -rf .build
