# tests/fuzz/fuzz.mk - libFuzzer targets for every decoder, included by
# the top-level Makefile.
#
# make fuzz              build every target with clang into $(BUILD)/fuzz/
#                        and run each for FUZZ_SECONDS on a copy of its
#                        seed corpus; fails on any crash, leak, sanitizer
#                        report, timeout or out-of-memory
# make fuzz-build        build only
# make fuzz-NAME         run one target (e.g. make fuzz-proto FUZZ_SECONDS=60)
# make fuzz-seeds        write the seeds our encoders make (tests/fuzz/
#                        gen_seeds.c) into tests/fuzz/corpus/
#
# Each target is tests/fuzz/fuzz_NAME.c, its seeds tests/fuzz/corpus/NAME/
# and its dictionary, when there is one, tests/fuzz/NAME.dict. The project's
# sources are compiled again with coverage and ASan + UBSan instrumentation
# (objects in $(BUILD)/fuzz/obj/), with the project's warnings.

# Debian packages: clang and its runtime (libFuzzer, ASan, UBSan) and llvm
# for llvm-symbolizer (stack traces with file:line).
FUZZ_DEB_PACKAGES := clang libclang-rt-14-dev llvm

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 10
FUZZ_RSS_MB ?= 2048
FUZZ_TIMEOUT ?= 10
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_NAMES := proto histogram scenario captures shape stages thresholds \
	threshold_arg cli ws ws_client out cookies jsonpath checks web_auth \
	secrets http1 script
FUZZ_BINS := $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_NAMES))

FUZZ_PKGS := libczmq libzmq msgpack libcurl libmicrohttpd jansson libpq $(LUA)
FUZZ_WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wvla
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
# Scripts run with a smaller Lua memory cap and instruction budget, so an
# input that loops or allocates ends well within FUZZ_TIMEOUT and
# FUZZ_RSS_MB (the limits themselves are what the unit tests check).
FUZZ_LUA_LIMITS := -DAPEX_LUA_MEMORY_MAX=268435456u -DAPEX_LUA_BUDGET=5000000
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -O1 -g $(FUZZ_WARN) $(FUZZ_SAN) \
	$(FUZZ_LUA_LIMITS) \
	-fsanitize=fuzzer-no-link -MMD -MP -I. \
	$(shell pkg-config --cflags $(FUZZ_PKGS))
FUZZ_LDLIBS = $(shell pkg-config --libs $(FUZZ_PKGS)) -lm -lpthread

# Everything in common/ and proto/, and the master modules under test.
FUZZ_LIB_SRC := $(wildcard common/*.c) $(wildcard proto/*.c) \
	master/shape.c master/thresholds.c master/figures.c master/out.c \
	master/influx_line.c
FUZZ_LIB_OBJS := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(FUZZ_LIB_SRC))
FUZZ_MAIN_OBJS := $(patsubst %,$(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o,$(FUZZ_NAMES))

# fuzz_ws also links apex-target's frame check and handshake, with
# libwslay (checked against) and libcrypto.
FUZZ_WS_OBJS := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,target/framecheck.c \
	target/handshake.c)
# The worker's side of WebSocket: the upgrade response and frame sizes.
FUZZ_WS_CLIENT_OBJS := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o, \
	worker/ws_upgrade.c worker/ws_frame.c worker/stream.c worker/failure.c)

# The web server's gate: basic auth and the origin check.
FUZZ_WEB_AUTH_OBJS := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,master/web_auth.c \
	master/web_origin.c)

# The plain HTTP/1.1 engine's response parser and URL split, and the
# Location both engines follow.
FUZZ_HTTP1_OBJS := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o, \
	worker/http1_response.c worker/http1_target.c worker/failure.c \
	worker/http_capture.c \
	worker/http_redirect.c)

# Objects made through the pattern rules below are kept between builds.
.SECONDARY: $(FUZZ_LIB_OBJS) $(FUZZ_MAIN_OBJS) $(FUZZ_WS_OBJS) \
	$(FUZZ_WS_CLIENT_OBJS) $(FUZZ_WEB_AUTH_OBJS) $(FUZZ_HTTP1_OBJS) \
	$(FUZZ_DIR)/obj/tests/fuzz/gen_seeds.o

.PHONY: fuzz fuzz-build fuzz-seeds $(addprefix fuzz-,$(FUZZ_NAMES))

fuzz-build: $(FUZZ_BINS)

# One after the other (each run is one process); make -k fuzz goes on
# past a failing target.
fuzz: $(addprefix fuzz-,$(FUZZ_NAMES))

$(addprefix fuzz-,$(FUZZ_NAMES)): fuzz-%: $(FUZZ_DIR)/fuzz_%
	@sh tests/fuzz/run.sh $* $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ_RSS_MB) \
		$(FUZZ_TIMEOUT)

fuzz-seeds: $(FUZZ_DIR)/gen_seeds
	@mkdir -p tests/fuzz/corpus/proto tests/fuzz/corpus/histogram
	$(FUZZ_DIR)/gen_seeds tests/fuzz/corpus

$(FUZZ_DIR)/gen_seeds: $(FUZZ_DIR)/obj/tests/fuzz/gen_seeds.o $(FUZZ_LIB_OBJS)
	@echo "  FUZZLD  $@"
	@$(FUZZ_CC) $(FUZZ_SAN) -o $@ $^ $(FUZZ_LDLIBS)

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $<"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_DIR)/fuzz_ws: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_ws.o $(FUZZ_WS_OBJS) \
		$(FUZZ_LIB_OBJS)
	@echo "  FUZZLD  $@"
	@$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(FUZZ_LDLIBS) \
		-lwslay $(shell pkg-config --libs libcrypto)

$(FUZZ_DIR)/fuzz_ws_client: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_ws_client.o \
		$(FUZZ_WS_CLIENT_OBJS) $(FUZZ_LIB_OBJS)
	@echo "  FUZZLD  $@"
	@$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(FUZZ_LDLIBS) \
		-lhttp_parser $(shell pkg-config --libs openssl)

$(FUZZ_DIR)/fuzz_web_auth: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_web_auth.o \
		$(FUZZ_WEB_AUTH_OBJS) $(FUZZ_LIB_OBJS)
	@echo "  FUZZLD  $@"
	@$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(FUZZ_LDLIBS) \
		$(shell pkg-config --libs openssl)

$(FUZZ_DIR)/fuzz_http1: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_http1.o \
		$(FUZZ_HTTP1_OBJS) $(FUZZ_LIB_OBJS)
	@echo "  FUZZLD  $@"
	@$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(FUZZ_LDLIBS) \
		-lhttp_parser $(shell pkg-config --libs libcurl)

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIB_OBJS)
	@echo "  FUZZLD  $@"
	@$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(FUZZ_LDLIBS)

-include $(shell find $(FUZZ_DIR)/obj -name '*.d' 2>/dev/null)
