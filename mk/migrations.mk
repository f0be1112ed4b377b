# Embeds migrations/<backend>/NNNN_name.sql into the binary as build/gen/migrations_data.c
# (arrays store_migrations_sqlite[] and store_migrations_pg[], see src/store/store_int.h).
# The directories are prerequisites too, so adding or removing a file regenerates it.
MIGRATION_FILES := $(sort $(wildcard migrations/sqlite/*.sql)) $(sort $(wildcard migrations/pg/*.sql))
GEN_SRCS += build/gen/migrations_data.c

build/gen/migrations_data.c: $(MIGRATION_FILES) migrations/sqlite migrations/pg mk/migrations-gen.sh mk/migrations.mk
	@mkdir -p $(@D)
	sh mk/migrations-gen.sh $(MIGRATION_FILES) >$@.tmp
	mv $@.tmp $@
