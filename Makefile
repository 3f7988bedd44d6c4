# Apex load testing suite - top-level Makefile.
# make            build build/apex-master, build/apex-worker, build/apex-target
# make deps       install every Debian package the build, tests, demo and
#                 bench need (apt-get; a no-op when all are present)
# make demo       run a 30 s headless test against the demo Apex API
# make demo-db    the database benchmark for 20 s on a throwaway PostgreSQL
# make test       format check, unit tests, integration and interop tests
# make asan       the test suite under ASan + UBSan (objects in build-san/)
# make bench      throughput and memory next to wrk, Locust, pgbench;
#                 scripted users next to JSON ones, Lua 5.4 next to LuaJIT
#                 (not a test)
# make web-deps   npm ci in web/ (uPlot, playwright-core; pinned by the lock)
# make browser-test  the HTML report in headless Debian Chromium
# make test-containers  the image built and run with podman: a headless
#                 run, compose, kube play (skips where podman cannot run)
# make fuzz       libFuzzer on every decoder, FUZZ_SECONDS (10) each
# make format / check-format / clean

# Scripted users run on Lua 5.4 (LUA=luajit builds them on LuaJIT 2.1, the
# other one make bench measures: see the README's "Scripted users").
LUA ?= lua5.4
PKGS := libczmq libzmq msgpack libcurl libmicrohttpd jansson openssl libpq \
	$(LUA)

# Debian packages: build, tests (python3-locust, msgpack/zmq for raw
# frames, iproute2 for namespaces, prometheus-client to parse /metrics,
# websockets as an independent WebSocket client, dnslib for a DNS server
# that answers late (tests/distributed), influxdb and prometheus
# as the real servers test_influx and test_prometheus start themselves:
# scripts/deps.sh keeps their system services off; PostgreSQL 15 for the
# throwaway clusters of scripts/pg.sh; tinyproxy as the forward proxy
# test_http_options starts with its own config, its service kept off),
# tests and bench (nginx-light: Debian 12's nginx, with the ssl and http2
# modules test_http_options needs; wrk, valgrind for callgrind, pgbench
# from postgresql-client-15).
DEB_PACKAGES := build-essential pkg-config clang-format \
	libczmq-dev libzmq3-dev libmsgpack-dev libcurl4-openssl-dev \
	libmicrohttpd-dev libjansson-dev libssl-dev libwslay-dev \
	libhttp-parser-dev libpq-dev liblua5.4-dev libluajit-5.1-dev \
	python3 python3-locust python3-msgpack python3-zmq python3-websockets \
	openssl \
	nginx-light wrk valgrind iproute2 procps curl ca-certificates \
	python3-yaml python3-jsonschema yamllint shellcheck \
	python3-prometheus-client influxdb prometheus python3-dnslib \
	postgresql-15 postgresql-client-15 tinyproxy

# make test-containers: Debian's podman (runc: see tests/containers/run.sh;
# catatonit for the pods of `podman kube play`), podman-compose, and
# debootstrap for the base images.
CONTAINER_DEB_PACKAGES := podman podman-compose runc catatonit debootstrap

ifeq ($(SAN),)
BUILD ?= build
SANFLAGS :=
else
BUILD ?= build-san
SANFLAGS := -fsanitize=$(SAN) -fno-sanitize-recover=all -fno-omit-frame-pointer
endif

CC ?= cc
OPT ?= -O2 -g
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wvla
CFLAGS += -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(SANFLAGS) -MMD -MP -I. \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# wslay and http-parser ship no pkg-config file.
LDLIBS += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lwslay -lhttp_parser \
	-lm -lpthread
LDFLAGS += $(SANFLAGS)

# The source's git version, shown by --version after APEX_VERSION
# ("apex-master 0.1.0 (git 07918bf4c2a1)"): `git describe` of the work
# tree, or APEX_REVISION given to make (the container build has no .git:
# deploy/docker/Dockerfile passes the host's), or "unknown". The header
# is rewritten only when the text changes, so only the three main.c
# files recompile, and only then.
APEX_REVISION ?= $(shell git describe --always --dirty --abbrev=12 \
	2>/dev/null || echo unknown)
REVISION_H := $(BUILD)/gen/revision.h
CFLAGS += -I$(BUILD)/gen

COMMON_SRC := $(wildcard common/*.c) $(wildcard proto/*.c)
MASTER_SRC := $(wildcard master/*.c)
WORKER_SRC := $(wildcard worker/*.c)
TARGET_SRC := $(wildcard target/*.c)
UNIT_SRC := $(wildcard tests/unit/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

include web/web.mk
include tests/fuzz/fuzz.mk

# common/ and proto/ in one library, master/ and worker/ (all but their
# main.c) in one each: the programs and the unit tests link the same code.
LIB := $(BUILD)/libapex.a
MASTER_LIB := $(BUILD)/libapex-master.a
WORKER_LIB := $(BUILD)/libapex-worker.a
MASTER_MAIN := master/main.c
WORKER_MAIN := worker/main.c
MASTER_LIB_SRC := $(filter-out $(MASTER_MAIN),$(MASTER_SRC))
WORKER_LIB_SRC := $(filter-out $(WORKER_MAIN),$(WORKER_SRC))
PROGRAMS := $(BUILD)/apex-master $(BUILD)/apex-worker $(BUILD)/apex-target
UNIT := $(BUILD)/apex-unit

.PHONY: FORCE all deps demo demo-db test unit integration interop distributed deploy-check \
	test-containers \
	asan bench luajit-build format check-format \
	clean
.DEFAULT_GOAL := all

all: $(PROGRAMS) $(UNIT)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -c -o $@ $<

define archive
	@mkdir -p $(dir $@)
	@rm -f $@
	@echo "  AR      $@"
	@ar rcs $@ $^
endef

$(LIB): $(call obj,$(COMMON_SRC))
	$(archive)

# The web UI's built-in files go with the master's code.
$(MASTER_LIB): $(call obj,$(MASTER_LIB_SRC)) $(WEB_OBJS)
	$(archive)

$(WORKER_LIB): $(call obj,$(WORKER_LIB_SRC))
	$(archive)

$(REVISION_H): FORCE
	@mkdir -p $(dir $@)
	@printf '#define APEX_REVISION "%s"\n' '$(APEX_REVISION)' > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; \
	else mv $@.tmp $@; echo "  GEN     $@ ($(APEX_REVISION))"; fi

$(call obj,$(MASTER_MAIN) $(WORKER_MAIN) target/main.c): $(REVISION_H)

$(BUILD)/apex-master: $(call obj,$(MASTER_MAIN)) $(MASTER_LIB) $(LIB)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/apex-worker: $(call obj,$(WORKER_MAIN)) $(WORKER_LIB) $(LIB)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/apex-target: $(call obj,$(TARGET_SRC)) $(LIB)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(UNIT): $(call obj,$(UNIT_SRC)) $(MASTER_LIB) $(WORKER_LIB) $(LIB)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

deps:
	@sh scripts/deps.sh $(DEB_PACKAGES) $(WEB_DEB_PACKAGES) \
		$(FUZZ_DEB_PACKAGES)

unit: $(UNIT)
	$(UNIT)

# The whole suite runs on the default engine (auto: the plain HTTP/1.1
# engine for plain http://, libcurl for the rest); the modules whose
# steps depend on the engine (scripted users' too) run once more with
# APEX_ENGINE=curl (test_http_engines and test_http_options run both
# engines themselves).
ENGINE_TESTS := test_flows test_security test_run.RunTest test_run.HeadersTest \
	test_lua test_hostile_runs.HugeResponseTest

integration: $(PROGRAMS)
	APEX_BUILD=$(BUILD) /usr/bin/python3 tests/run_integration.py
	APEX_ENGINE=curl APEX_BUILD=$(BUILD) /usr/bin/python3 \
		tests/run_integration.py $(ENGINE_TESTS)

interop: $(PROGRAMS)
	APEX_BUILD=$(BUILD) /usr/bin/python3 tests/run_integration.py --dir interop
	APEX_ENGINE=curl APEX_BUILD=$(BUILD) /usr/bin/python3 \
		tests/run_integration.py --dir interop

# A master, 3 workers and apex-target on hosts made of network namespaces
# (needs root; skips otherwise).
distributed: $(PROGRAMS)
	APEX_BUILD=$(BUILD) /usr/bin/python3 tests/run_integration.py --dir distributed

# Static checks of deploy/: YAML, helm lint/template, kustomize, schemas,
# flags and variables against --help (validators from npm, pinned).
deploy-check: $(PROGRAMS)
	APEX_BUILD=$(BUILD) sh tests/deploy/tools.sh
	APEX_BUILD=$(BUILD) /usr/bin/python3 tests/run_integration.py --dir deploy

# The image from deploy/docker/Dockerfile, built and run with podman
# (tests/containers/run.sh: podman's configuration for this test only,
# base images by debootstrap, layers cached in
# $${APEX_CONTAINERS_CACHE:-/var/tmp/apex-test-containers}). Not part
# of `make test`: .ci/run runs it after.
test-containers: all
	@sh scripts/deps.sh $(CONTAINER_DEB_PACKAGES)
	APEX_BUILD=$(BUILD) sh tests/deploy/tools.sh
	APEX_BUILD=$(BUILD) sh tests/containers/run.sh

test: deps
	$(MAKE) check-format
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) browser-test
	$(MAKE) integration
	$(MAKE) interop
	$(MAKE) distributed
	$(MAKE) deploy-check
	$(MAKE) fuzz

asan: deps
	$(MAKE) SAN=address,undefined OPT="-O1 -g" all
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1 $(MAKE) SAN=address,undefined \
		OPT="-O1 -g" unit integration interop distributed

demo: deps all
	sh scripts/demo.sh $(BUILD)

# A throwaway PostgreSQL cluster with the Project Apex schema and data,
# scenarios/database.json for 20 s, the summary, the cluster removed.
demo-db: deps all
	sh scripts/demo_db.sh $(BUILD)

# A bare libcurl client: the floor under apex-worker's cost per request.
$(BUILD)/curl-loop: bench/curl_loop.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -o $@ $< $(LDLIBS)

# The same programs on LuaJIT, for bench/lua_bench.py's Lua 5.4 / LuaJIT
# figures (build-luajit/).
luajit-build:
	$(MAKE) LUA=luajit BUILD=build-luajit build-luajit/apex-master \
		build-luajit/apex-worker

bench: deps all $(BUILD)/curl-loop luajit-build
	sh bench/run.sh $(BUILD)

FORMAT_SRC = $(wildcard common/*.[ch] proto/*.[ch] master/*.[ch] \
	worker/*.[ch] target/*.[ch] tests/unit/*.[ch] tests/fuzz/*.[ch] \
	bench/*.c)

format:
	clang-format -i $(FORMAT_SRC)

check-format:
	clang-format --dry-run -Werror $(FORMAT_SRC)

clean:
	rm -rf build build-san build-luajit

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
