# web/web.mk - the files built into apex-master (web/assets.txt): the HTML
# report template now, the web UI later. Included by the top-level Makefile
# after BUILD, CC and CFLAGS are set and before the apex-master rule, which
# links $(WEB_OBJS). Run from the repository root.
#
#   $(BUILD)/gen/web_assets.c   scripts/embed.py's C file (master/assets.h);
#                               the built assets also go to $(BUILD)/gen/web/
#   make web-deps               npm ci in web/: uPlot (inlined into the
#                               report and UI) and playwright-core (browser
#                               tests), pinned by web/package-lock.json
#   make browser-test           tests/browser: embed.py and master/assets.c
#                               on a made-up manifest, and the report in
#                               Chromium on the samples, or on the files in
#                               APEX_REPORT=FILE.html[:FILE2.html]
#
# npm and node come with the machine; Chromium is a Debian package
# (WEB_DEB_PACKAGES, for `make deps`). Nothing downloads a browser.

WEB_DEB_PACKAGES := chromium fonts-liberation

WEB_NPM_STAMP := web/node_modules/.package-lock.json
WEB_GEN := $(BUILD)/gen/web_assets.c
WEB_GEN_DEP := $(BUILD)/gen/web_assets.d
WEB_OBJS := $(BUILD)/obj/gen/web_assets.o

.PHONY: web-deps browser-test

web-deps: $(WEB_NPM_STAMP)

# npm ci rewrites node_modules/ and its .package-lock.json; touch it anyway
# so the stamp is newer than the lock even if npm leaves it alone.
$(WEB_NPM_STAMP): web/package-lock.json web/package.json
	@command -v npm >/dev/null || { echo "web: npm is needed (the" \
		"machine's Node.js, or apt-get install nodejs npm)" >&2; exit 1; }
	@echo "  NPM     web/ (npm ci)"
	@npm ci --prefix web --no-audit --no-fund --ignore-scripts
	@touch $@

# The inputs each asset inlines (web/report.html, web/report.css, uPlot...)
# come from $(WEB_GEN_DEP), which embed.py writes like gcc -MMD -MP.
$(WEB_GEN): web/assets.txt scripts/embed.py $(WEB_NPM_STAMP)
	@mkdir -p $(dir $@)
	@echo "  EMBED   $@"
	@python3 scripts/embed.py --manifest web/assets.txt --c $@ \
		--dep $(WEB_GEN_DEP) --dump $(BUILD)/gen/web

$(WEB_OBJS): $(WEB_GEN)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -c -o $@ $<

browser-test: $(WEB_NPM_STAMP)
	node --test --test-reporter=tap tests/browser/embed.test.mjs \
		tests/browser/report.test.mjs

-include $(WEB_GEN_DEP)
