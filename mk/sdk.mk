# Browser SDK (src/http/sdk_serve.c): the committed builds in sdk/dist/ (scripts/build-sdk.sh;
# make needs no Node) are embedded as build/gen/sdk_data.c: sdk/dist/dropfix.js as "latest"
# and every released sdk/dist/v<version>/dropfix.js as "v<version>". The directories are
# prerequisites, so a new release regenerates it.
SDK_RELEASES := $(sort $(wildcard sdk/dist/v*/dropfix.js))
GEN_SRCS     += build/gen/sdk_data.c

build/gen/sdk_data.c: sdk/dist/dropfix.js $(SDK_RELEASES) sdk/dist scripts/embed.sh mk/sdk.mk
	@mkdir -p build/gen/sdk_files
	rm -f build/gen/sdk_files/*.js
	cp sdk/dist/dropfix.js build/gen/sdk_files/latest.js
	for f in $(SDK_RELEASES); do v=$${f#sdk/dist/}; cp "$$f" "build/gen/sdk_files/$${v%/dropfix.js}.js"; done
	sh scripts/embed.sh $@ http/sdk_serve.h "struct sdk_file" sdk_files sdk_files_count .js \
		build/gen/sdk_files/latest.js $(patsubst sdk/dist/%/dropfix.js,build/gen/sdk_files/%.js,$(SDK_RELEASES))

$(foreach v,release test asan fuzz,build/$(v)/obj/gen/sdk_data.o): src/http/sdk_serve.h
