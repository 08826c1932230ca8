# snaptun — one build for everything. `make help` lists the targets.
#
#   make                  build the programs
#   make deps             install missing Debian packages and the browser test's npm package
#   make run              deps + build + start the manager on ./var, print URL and admin token
#   make test             unit and end-to-end tests (SANITIZE=address,undefined for ASan/UBSan)
#   make bench            benchmarks, each beside a reference measured in the same run
#   make fuzz             every libFuzzer harness for FUZZ_SECONDS (default 30) each
#   make format-check     clang-format, no changes allowed
#   V=1                   show full command lines
#   WERROR=1              warnings are errors (CI); CFLAGS=... changes only optimisation/debug

CC       ?= cc
FUZZ_CC  ?= clang
SANITIZE ?=
FUZZ_SECONDS ?= 30
WERROR   ?= 0

BUILD := build$(if $(SANITIZE),-san)
PKGS  := libmicrohttpd sqlite3 libpq gnutls jansson libprotobuf-c libngtcp2 libngtcp2_crypto_gnutls \
         libsodium libcurl

# What the tree needs to build at all lives in REQ_CFLAGS, so that `make CFLAGS=-O0` (or any
# other CFLAGS) only changes optimisation and debugging. -Werror only where asked (CI: WERROR=1):
# a newer compiler's new warning must not stop a user's build.
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith \
           -Wcast-qual $(if $(filter 1,$(WERROR)),-Werror)
CFLAGS  ?= -O2 -g
REQ_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -MMD -MP
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CPPFLAGS += $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# protoc-c output lives under $(BUILD)/gen, never in the tree: #include "proto/state.pb-c.h"
CPPFLAGS += -I$(BUILD)/gen
ifneq ($(SANITIZE),)
REQ_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
endif
ALL_CFLAGS = $(REQ_CFLAGS) $(CFLAGS)

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Debian packages: what builds, tests, benchmarks and fuzzes this tree, all from Debian 12.
DEB_PKGS := build-essential pkg-config libmicrohttpd-dev libsqlite3-dev libngtcp2-dev \
            libngtcp2-crypto-gnutls-dev libgnutls28-dev libprotobuf-c-dev protobuf-c-compiler \
            libjwt-gnutls-dev libjansson-dev libsodium-dev libcurl4-gnutls-dev gnutls-bin curl sqlite3 \
            libpq-dev postgresql \
            iproute2 iputils-ping procps clang libclang-rt-14-dev clang-format wrk iperf3 \
            wireguard-go wireguard-tools openvpn prometheus chromium
# The dashboard's browser test: Node.js from Debian unless a node is installed already (a
# NodeSource build brings its own npm, which Debian's npm package would conflict with), and
# playwright-core from the npm registry into ./node_modules, pinned by package-lock.json.
NODE_PKGS := nodejs npm

# The layers, each its own archive, linked only into what may use it. A call across a layer
# boundary the wrong way is a link error:
#   liblib.a    lib/           helpers every program shares (calls nothing above it)
#   libproto.a  proto/ + gen   wire formats: state channel, control requests, JWT (uses lib)
#   libdb.a     db/            the store: every SQL statement (uses proto, lib)
#   libquic.a   agent/quic/    the QUIC transport, server and client side (uses proto, lib)
#   libagent.a  agent/         the gateway's tunnels, state cache, channel client, data plane
#   libclient.a agent/client/  the endhost: enrollment, session upkeep, TUN or relay pump
#   libmanager.a manager/      the manager's API, enrollment, allocator, channel server
# snaptun-manager = manager + db + proto + lib; snaptun-agent = agent + quic + proto + lib;
# snaptun-client = client + quic + proto + lib.
srcs = $(wildcard $(1)/*.c $(1)/*/*.c)
objs = $(patsubst %.c,$(BUILD)/%.o,$(1))
LIB_SRC     := $(call srcs,lib)
PROTO_SRC   := $(call srcs,proto)
DB_SRC      := $(call srcs,db)
QUIC_SRC    := $(call srcs,agent/quic)
AGENT_MAINS := agent/main.c
CLIENT_SRC  := $(filter-out agent/client/main.c,$(call srcs,agent/client))
AGENT_SRC   := $(filter-out $(AGENT_MAINS) $(QUIC_SRC) $(CLIENT_SRC) agent/client/main.c,$(call srcs,agent))
MANAGER_SRC := $(filter-out manager/main.c,$(call srcs,manager))
# proto/*.proto -> $(BUILD)/gen/proto/*.pb-c.{c,h} (protoc-c), compiled into libproto.a
PROTO_DEFS  := $(wildcard proto/*.proto)
PROTO_GEN_C := $(patsubst %.proto,$(BUILD)/gen/%.pb-c.c,$(PROTO_DEFS))
PROTO_GEN_H := $(PROTO_GEN_C:.c=.h)

A_LIB     := $(BUILD)/liblib.a
A_PROTO   := $(BUILD)/libproto.a
A_DB      := $(BUILD)/libdb.a
A_QUIC    := $(BUILD)/libquic.a
A_AGENT   := $(BUILD)/libagent.a
A_CLIENT  := $(BUILD)/libclient.a
A_MANAGER := $(BUILD)/libmanager.a
# In link order: a layer before the layers it uses.
MANAGER_LIBS := $(A_MANAGER) $(A_DB) $(A_PROTO) $(A_LIB)
AGENT_LIBS   := $(A_AGENT) $(A_QUIC) $(A_PROTO) $(A_LIB)
CLIENT_LIBS  := $(A_CLIENT) $(A_QUIC) $(A_PROTO) $(A_LIB)
# Tests, tools and benchmarks may reach any layer (a unit test links the module it tests).
ALL_LIBS     := $(A_MANAGER) $(A_AGENT) $(A_CLIENT) $(A_DB) $(A_QUIC) $(A_PROTO) $(A_LIB)
TOOLS       := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(wildcard tests/tools/*.c))

UNIT_TESTS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(filter-out tests/unit/check.c,$(wildcard tests/unit/*_test.c)))
FUZZERS     := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
BENCHES     := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(wildcard tests/bench/*.c))

PROGRAMS := $(BUILD)/snaptun-manager $(BUILD)/snaptun-agent \
            $(if $(wildcard agent/client/main.c),$(BUILD)/snaptun-client)

.SECONDARY:
.PHONY: all deps test unit e2e run bench fuzz clean format format-check help
all: $(PROGRAMS) $(TOOLS) $(ALL_LIBS)

help:
	@sed -n '1,13p' Makefile

deps:
	@missing=$$(for p in $(DEB_PKGS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
	    $$missing libjwt-dev- >/dev/null; \
	fi
	@if ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
	  echo "installing: $(NODE_PKGS)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
	    $(NODE_PKGS) >/dev/null; \
	fi
	@[ -f node_modules/playwright-core/package.json ] || \
	  npm ci --no-audit --no-fund --silent

# Every object may include a generated header: they all wait for protoc-c (order-only; -MMD
# records the real dependency after the first build).
$(BUILD)/%.o: %.c | $(PROTO_GEN_H)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

# Generated code: one pattern rule with two targets makes both in one protoc-c run.
$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: %.proto
	@mkdir -p $(BUILD)/gen
	@$(if $(Q),echo "  PROTOC  $<")
	$(Q)protoc-c --c_out=$(BUILD)/gen $<

# protoc-c's *__INIT macros cast protobuf_c_empty_string's const away: -Wcast-qual only here
# (our code uses the *__init() functions instead).
$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -Wno-cast-qual -c -o $@ $<

$(A_LIB): $(call objs,$(LIB_SRC))
$(A_PROTO): $(call objs,$(PROTO_SRC)) $(PROTO_GEN_C:.c=.o)
$(A_DB): $(call objs,$(DB_SRC))
$(A_QUIC): $(call objs,$(QUIC_SRC))
$(A_AGENT): $(call objs,$(AGENT_SRC))
$(A_CLIENT): $(call objs,$(CLIENT_SRC))
$(A_MANAGER): $(call objs,$(MANAGER_SRC))
# Thin archives: members keep their paths (db/pool.o and db/sqlite/pool.o are two members).
$(BUILD)/lib%.a:
	$(Q)rm -f $@ && ar rcsT $@ $^

$(BUILD)/snaptun-manager: $(BUILD)/manager/main.o $(MANAGER_LIBS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/snaptun-agent: $(BUILD)/agent/main.o $(AGENT_LIBS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/snaptun-client: $(BUILD)/agent/client/main.o $(CLIENT_LIBS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tools/%: $(BUILD)/tests/tools/%.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/tests/unit/check.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# `make test` builds and tests; it installs nothing (`make deps`, `make run` and .ci/run do).
test: all $(UNIT_TESTS)
	$(Q)BUILD=$(BUILD) sh tests/run.sh $(UNIT_TESTS)

# Fuzzers are built by clang with libFuzzer and ASan, from the same sources, each from the
# layers its side links: the agent's harnesses (FUZZ_AGENT) from agent + quic + proto + lib, the
# endhost client's (FUZZ_CLIENT) from client + quic + proto + lib, the others from manager + db +
# proto + lib (and the pure IP header parser).
FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
              -fno-sanitize-recover=all $(CPPFLAGS)
FUZZ_AGENT := $(BUILD)/fuzz/fuzz_agentlink $(BUILD)/fuzz/fuzz_forward $(BUILD)/fuzz/fuzz_quicserver \
              $(BUILD)/fuzz/fuzz_dpscion $(BUILD)/fuzz/fuzz_creds
FUZZ_SRC := $(LIB_SRC) $(DB_SRC) $(MANAGER_SRC) $(PROTO_SRC) agent/ippkt.c
$(FUZZ_AGENT): FUZZ_SRC := $(LIB_SRC) $(PROTO_SRC) $(QUIC_SRC) $(AGENT_SRC)
FUZZ_CLIENT := $(BUILD)/fuzz/fuzz_bundle
$(FUZZ_CLIENT): FUZZ_SRC := $(LIB_SRC) $(PROTO_SRC) $(QUIC_SRC) $(CLIENT_SRC)
$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIB_SRC) $(PROTO_SRC) $(DB_SRC) $(MANAGER_SRC) $(QUIC_SRC) \
                 $(AGENT_SRC) $(CLIENT_SRC) $(PROTO_GEN_C) $(wildcard */*.h */*/*.h) \
                 $(PROTO_GEN_H)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_SRC) $(PROTO_GEN_C) $(LDLIBS)

fuzz: $(FUZZERS)
	$(Q)for f in $(FUZZERS); do \
	  name=$$(basename $$f); corpus=$(BUILD)/fuzz/corpus-$$name; \
	  mkdir -p $$corpus && cp -n tests/fuzz/corpus/$$name/* $$corpus/ 2>/dev/null; \
	  echo "fuzz $$name for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(BUILD)/fuzz/$$name- $$corpus 2>$(BUILD)/fuzz/$$name.log \
	    || { tail -40 $(BUILD)/fuzz/$$name.log; exit 1; }; \
	  grep -E 'stat::number_of_executed_units|stat::new_units_added' $(BUILD)/fuzz/$$name.log; \
	done

$(BUILD)/bench/%: $(BUILD)/tests/bench/%.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

bench: deps all $(BENCHES)
	$(Q)BUILD=$(BUILD) sh tests/bench/run.sh

# The embedded set-up (scripts/run.sh): everything under ./var, in the foreground until Ctrl-C
# or until the manager or the agent dies: the manager, then the agent on its state channel
# (var/agent.sock). One instance per ./var.
LISTEN ?= 127.0.0.1:8080
AGENT_LISTEN ?= 127.0.0.1:4433
run: deps all
	@BUILD=$(BUILD) VAR=var LISTEN=$(LISTEN) AGENT_LISTEN=$(AGENT_LISTEN) bash scripts/run.sh

SOURCES = $(shell git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]')
format:
	$(Q)clang-format -i $(SOURCES)
format-check:
	$(Q)clang-format --dry-run --Werror $(SOURCES)

clean:
	rm -rf build build-san

-include $(shell find build build-san -name '*.d' 2>/dev/null)

# Rewrite the expected results of the control-request golden tests (tests/data/ctrl/*.out) from
# what the parser does now; review the diff before committing it.
.PHONY: golden
golden: $(BUILD)/tests/ctrl_test
	$(Q)CTRL_GOLDEN_UPDATE=1 $(BUILD)/tests/ctrl_test
