# HTML templates (src/tmpl): templates/*.html are embedded into every build variant as
# build/gen/templates_data.c (tmpl_embedded[] in src/tmpl/tmpl.h). The directory is a
# prerequisite too, so adding or removing a template regenerates the file.
TMPL_FILES := $(sort $(wildcard templates/*.html))
GEN_SRCS   += build/gen/templates_data.c

build/gen/templates_data.c: $(TMPL_FILES) templates scripts/embed.sh mk/templates.mk
	@mkdir -p $(@D)
	sh scripts/embed.sh $@ tmpl/tmpl.h "struct tmpl_source" tmpl_embedded tmpl_embedded_count .html $(TMPL_FILES)

# The generated file includes tmpl.h (generated objects get no dependency files).
$(foreach v,release test asan fuzz,build/$(v)/obj/gen/templates_data.o): src/tmpl/tmpl.h
