/*
 * config_int.h — shared between the files of src/config/, not a public API.
 *
 *   config.c     schema of the config file, defaults, validation, load
 *   catalogue.c  built-in model catalogue, `catalogue:` entries, lookup
 *   env.c        configuration from environment variables alone
 *   resolve.c    model names -> provider + model
 *   dump.c       effective config as YAML, key masking, warnings
 */
#ifndef LX_CONFIG_INT_H
#define LX_CONFIG_INT_H

#include "config/config.h"
#include "config/ytree.h"

/* Built into the binary from data/catalogue.yaml by the Makefile. */
extern const unsigned char lx_catalogue_yaml[];
extern const size_t lx_catalogue_yaml_len;

/* New empty config with its arena and the built-in catalogue loaded. */
lx_status lx_config_new_base(const char *source, lx_config **out, lx_error *err);

/* Reads a `catalogue:` sequence, adding entries to cfg->catalogue or
 * overriding the fields given for an id already there. */
lx_status lx_catalogue_read(lx_yctx *y, const lx_ynode *seq, lx_config *cfg, bool from_config);

/* Fills defaults that depend on the type (base_url, locality, api key from
 * the environment, timeouts from `global`). */
lx_status lx_provider_finish(lx_config *cfg, lx_provider_cfg *p, const lx_timeouts *partial,
                             lx_error *err);

/* Default base URL of a type; "" for local. */
const char *lx_provider_default_base(lx_provider_type t);
/* Default API key variable of a type when its base URL is the default one;
 * NULL for ollama and local. */
const char *lx_provider_default_key_env(lx_provider_type t);

/* true if s is a valid provider name ([A-Za-z0-9_.-]{1,63}). */
bool lx_provider_name_ok(const char *s);
/* Checks an http(s) URL; returns false with no side effect when invalid. */
bool lx_url_ok(const char *s);

/* Sets cfg->default_model when not set: the first provider that lists a
 * model (the local provider first when `prefer_local`). */
lx_status lx_config_pick_default(lx_config *cfg, bool prefer_local);

#endif
