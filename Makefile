# esplua: two commands do everything on a fresh Debian 12 machine.
#   make run SKETCH=sketches/hello_server.lua ARGS="--forward 8080:80"
#   make test
# Both run `setup` first: it installs missing Debian packages and fetches
# Debian's lwip source package (once; quick when already done).

SWIFT ?= swift
SKETCH ?= sketches/blink.lua
ARGS ?=
CONFIG ?= release

.PHONY: setup build run test bench soak soak-lab fuzz fuzz-corpus variant-1460 format clean

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

# 100,000 connections against a board (SOAK=N for another count): heap, lwIP and host RSS checked
SOAK ?= 100000
soak: setup
	$(SWIFT) build -c release --product Benchmarks
	.build/release/Benchmarks soak $(SOAK)

# a lab of LAB_BOARDS hello_server boards (esplua lab) with visitors at random intervals
# (LAB_GAP_MS apart on average, seeded by LAB_SEED) for LAB_SECONDS of real time: no board
# may crash, no visit fail for a reason not known (each failure is printed with the board's
# pcbs and frames); prints CPU (% of one core) and PSS per board
LAB_BOARDS ?= 30
LAB_SECONDS ?= 600
LAB_GAP_MS ?= 100
LAB_SEED ?= 33382
soak-lab: setup
	$(SWIFT) build -c release --product esplua
	$(SWIFT) build -c release --product Benchmarks
	.build/release/Benchmarks soak-lab $(LAB_BOARDS) $(LAB_SECONDS) $(LAB_GAP_MS) $(LAB_SEED)

# libFuzzer on each target (Sources/FuzzTargets) for FUZZ_SECONDS, with ASan and lwIP's
# assertions on; findings land in .build-fuzz/findings/TARGET/ (make one a regression input
# in Tests/FuzzTargetsTests/corpus/TARGET/, which `make test` replays). `frames` keeps one
# board booted across inputs (a reboot every 256 inputs, ESPLUA_FUZZ_REBOOT_EVERY=N; a
# finding's inputs since the boot are written beside it as context-*); `frames-cold` boots
# a board per input (slow; the same corpus), as a finding is replayed alone.
FUZZ_SECONDS ?= 120
FUZZ_TARGETS ?= frames gateway filter world wiring lab littlefs
FUZZ_FLAGS = -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address \
	-Xcc -DESPLUA_LWIP_ASSERT -Xswiftc -use-ld=lld
fuzz: setup
	ESPLUA_FUZZ=1 $(SWIFT) build -c release --scratch-path .build-fuzz --product FuzzEntry $(FUZZ_FLAGS)
	@for t in $(FUZZ_TARGETS); do \
	  c=$${t%-cold}; \
	  mkdir -p .build-fuzz/corpus/$$c .build-fuzz/findings/$$t; \
	  echo "== fuzz $$t for $(FUZZ_SECONDS) s"; \
	  ASAN_OPTIONS=detect_stack_use_after_return=0 ESPLUA_FUZZ_TARGET=$$t ESPLUA_FUZZ_CONTEXT_DIR=.build-fuzz/findings/$$t \
	    .build-fuzz/release/FuzzEntry -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096 \
	    -print_final_stats=1 -artifact_prefix=.build-fuzz/findings/$$t/ \
	    .build-fuzz/corpus/$$c Tests/FuzzTargetsTests/corpus/$$c 2>&1 | grep -E '^(#[0-9]+ +DONE|==|SUMMARY|FuzzEntry|stat::number_of_executed_units|artifact)' \
	    ; test -z "$$(ls .build-fuzz/findings/$$t)" || { echo "findings in .build-fuzz/findings/$$t"; exit 1; }; \
	done

# folds what `make fuzz` found (.build-fuzz/corpus/TARGET) into the checked-in corpus
# (Tests/FuzzTargetsTests/corpus/TARGET): only the units that add coverage features to it, as
# libFuzzer's -set_cover_merge=1 picks them; the checked-in units stay. Review, then commit.
fuzz-corpus: setup
	ESPLUA_FUZZ=1 $(SWIFT) build -c release --scratch-path .build-fuzz --product FuzzEntry $(FUZZ_FLAGS)
	@for c in $(filter-out %-cold,$(FUZZ_TARGETS)); do \
	  d=.build-fuzz/merge/$$c; rm -rf $$d; mkdir -p $$d .build-fuzz/corpus/$$c; \
	  cp Tests/FuzzTargetsTests/corpus/$$c/* $$d/; \
	  ASAN_OPTIONS=detect_stack_use_after_return=0 ESPLUA_FUZZ_TARGET=$$c \
	    .build-fuzz/release/FuzzEntry -set_cover_merge=1 -rss_limit_mb=4096 $$d .build-fuzz/corpus/$$c 2>&1 \
	    | sed -n "s/^MERGE-OUTER: \([0-9]* new files\)/$$c: \1/p"; \
	  cp -n $$d/* Tests/FuzzTargetsTests/corpus/$$c/; \
	done

# formats every Swift file with the checked-in .swift-format configuration
format:
	$(SWIFT) format format -i -r --configuration .swift-format Package.swift Sources Tests plugins

clean:
	rm -rf .build
