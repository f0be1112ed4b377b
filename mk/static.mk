# Static assets (src/http/static.c): the files in static/ are embedded into every build variant as
# build/gen/static_data.c. The directory is a prerequisite, so adding a file regenerates it.
STATIC_FILES := $(sort $(wildcard static/*))
GEN_SRCS     += build/gen/static_data.c

build/gen/static_data.c: $(STATIC_FILES) static scripts/embed.sh mk/static.mk
	@mkdir -p $(@D)
	sh scripts/embed.sh $@ http/static.h "struct static_file" static_files static_files_count "" $(STATIC_FILES)

$(foreach v,release test asan fuzz,build/$(v)/obj/gen/static_data.o): src/http/static.h
