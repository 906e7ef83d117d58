# Shoal build. `make` builds bin/shoal-node; `make test` runs every test;
# `make run` starts a local node; `make bench` compares against redis-server.
CC      ?= gcc
PKGS    := libevent hiredis yaml-0.1
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare \
           -Icommon -Inode $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -lpthread

COMMON_SRC := $(wildcard common/*.c)
NODE_SRC   := $(filter-out node/main.c,$(wildcard node/*.c))
PROXY_SRC  := $(filter-out proxy/main.c,$(wildcard proxy/*.c))
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
PUNIT_SRC  := $(wildcard tests/unit/test_proxy_*.c)

B := build
COMMON_OBJ := $(COMMON_SRC:%.c=$(B)/rel/%.o)
NODE_OBJ   := $(NODE_SRC:%.c=$(B)/rel/%.o)
PROXY_OBJ  := $(PROXY_SRC:%.c=$(B)/rel/%.o)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(B)/unit/%)
SAN_BIN    := $(UNIT_SRC:tests/unit/%.c=$(B)/san/%)
SANFLAGS   := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

.PHONY: all deps run run-node test unit unit-san integration bench memcheck cluster-figures fuzz fuzz-resp fuzz-bus clean
all: bin/shoal-node bin/shoal-proxy

$(B)/rel/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(B)/san/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -MMD -MP -c $< -o $@

bin/shoal-node: $(B)/rel/node/main.o $(NODE_OBJ) $(COMMON_OBJ)
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

bin/shoal-proxy: $(B)/rel/proxy/main.o $(PROXY_OBJ) $(COMMON_OBJ)
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# Unit tests link every common/ and node/ object except node/main.c;
# test_proxy_*.c link the proxy's objects instead.
$(PUNIT_SRC:tests/unit/%.c=$(B)/unit/%): $(B)/unit/%: tests/unit/%.c $(PROXY_OBJ) $(COMMON_OBJ) tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -Iproxy -o $@ $< $(PROXY_OBJ) $(COMMON_OBJ) $(LDLIBS)

$(PUNIT_SRC:tests/unit/%.c=$(B)/san/%): $(B)/san/%: tests/unit/%.c $(PROXY_SRC:%.c=$(B)/san/obj/%.o) $(COMMON_SRC:%.c=$(B)/san/obj/%.o) tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -Itests/unit -Iproxy -o $@ $< $(PROXY_SRC:%.c=$(B)/san/obj/%.o) $(COMMON_SRC:%.c=$(B)/san/obj/%.o) $(LDLIBS)

$(B)/unit/%: tests/unit/%.c $(NODE_OBJ) $(COMMON_OBJ) tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(NODE_OBJ) $(COMMON_OBJ) $(LDLIBS)

$(B)/san/%: tests/unit/%.c $(NODE_SRC:%.c=$(B)/san/obj/%.o) $(COMMON_SRC:%.c=$(B)/san/obj/%.o) tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -Itests/unit -o $@ $< $(NODE_SRC:%.c=$(B)/san/obj/%.o) $(COMMON_SRC:%.c=$(B)/san/obj/%.o) $(LDLIBS)

deps:
	@sh tools/deps.sh

unit: $(UNIT_BIN)
	@sh tests/unit/run.sh $(UNIT_BIN)

unit-san: $(SAN_BIN)
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 sh tests/unit/run.sh $(SAN_BIN)

BUSPROBE_SRC := tests/tools/busprobe.c common/busproto.c common/mem.c common/buf.c
$(B)/tools/busprobe: $(BUSPROBE_SRC) common/busproto.h common/mem.h common/buf.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $(BUSPROBE_SRC)

TOPOWATCH_SRC := tests/tools/topowatch.c proxy/topology.c common/slotmap.c common/busproto.c \
                 common/mem.c common/buf.c common/util.c common/log.c
$(B)/tools/topowatch: $(TOPOWATCH_SRC) proxy/topology.h common/slotmap.h common/busproto.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iproxy -o $@ $(TOPOWATCH_SRC) $(LDLIBS)

integration: bin/shoal-node bin/shoal-proxy $(B)/tools/busprobe $(B)/tools/topowatch
	/usr/bin/python3 -m pytest -q tests/integration

# The integration run comes last so pytest's summary is the final line.
test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory unit-san
	@$(MAKE) --no-print-directory integration

# A local 3-master cluster from configs/cluster (Ctrl-C stops it).
run: deps
	$(MAKE) all
	@bash tools/run_cluster.sh

# One standalone node from configs/node.yaml.
run-node: deps
	$(MAKE) all
	@echo "Starting shoal-node on 127.0.0.1:7000 (Ctrl-C to stop). Connect with: redis-cli -p 7000"
	./bin/shoal-node configs/node.yaml

cluster-figures: deps
	$(MAKE) all
	/usr/bin/python3 tools/cluster_figures.py

bench: deps
	$(MAKE) all
	/usr/bin/python3 tools/bench.py
	/usr/bin/python3 tools/proxy_bench.py

memcheck: deps
	$(MAKE) all
	/usr/bin/python3 tools/memcheck.py

# libFuzzer targets (clang); FUZZ_SECONDS per target, default 60.
fuzz: fuzz-resp fuzz-bus

fuzz-resp:
	@mkdir -p $(B)/fuzz/corpus
	clang -g -O1 -fsanitize=fuzzer,address,undefined -Icommon -o $(B)/fuzz/fuzz_resp tests/fuzz/fuzz_resp.c $(filter common/resp%.c,$(COMMON_SRC)) common/mem.c common/util.c common/buf.c
	cp tests/fuzz/corpus_resp/* $(B)/fuzz/corpus/
	$(B)/fuzz/fuzz_resp -max_total_time=$${FUZZ_SECONDS:-60} $(B)/fuzz/corpus

fuzz-bus:
	@mkdir -p $(B)/fuzz/corpus_bus
	clang -g -O1 -fsanitize=fuzzer,address,undefined -Icommon -o $(B)/fuzz/fuzz_bus tests/fuzz/fuzz_bus.c common/busproto.c common/mem.c common/buf.c
	cp tests/fuzz/corpus_bus/* $(B)/fuzz/corpus_bus/
	$(B)/fuzz/fuzz_bus -max_total_time=$${FUZZ_SECONDS:-60} $(B)/fuzz/corpus_bus

clean:
	rm -rf $(B) bin

-include $(shell find $(B) -name '*.d' 2>/dev/null)
