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

/* Section parsers (one file each) and their defaults. Each sets its
 * defaults in lx_section_defaults(), which runs before parsing for file and
 * environment configs alike; a parser fills cfg from the node (a mapping or
 * null) and reports errors through y with line:col. */
void lx_section_defaults(lx_config *cfg);
lx_status lx_parse_aliases(lx_yctx *y, const lx_ynode *v, lx_config *cfg);     /* routing.c */
lx_status lx_parse_routing(lx_yctx *y, const lx_ynode *v, lx_config *cfg);     /* routing.c */
lx_status lx_parse_guard(lx_yctx *y, const lx_ynode *v, lx_config *cfg);       /* routing.c */
lx_status lx_parse_reliability(lx_yctx *y, const lx_ynode *v, lx_config *cfg); /* reliability.c */
lx_status lx_parse_server(lx_yctx *y, const lx_ynode *v, lx_config *cfg);      /* server.c */
lx_status lx_parse_keys(lx_yctx *y, const lx_ynode *v, lx_config *cfg);        /* server.c */
lx_status lx_parse_ledger(lx_yctx *y, const lx_ynode *v, lx_config *cfg);      /* account.c */
lx_status lx_parse_budgets(lx_yctx *y, const lx_ynode *v, lx_config *cfg);     /* account.c */
lx_status lx_parse_cache(lx_yctx *y, const lx_ynode *v, lx_config *cfg);       /* account.c */
void lx_routing_defaults(lx_config *cfg);     /* routing.c: routing + guard */
void lx_reliability_defaults(lx_config *cfg); /* reliability.c */
void lx_server_defaults(lx_config *cfg);      /* server.c: server + keys */
void lx_account_defaults(lx_config *cfg);     /* account.c: ledger, budgets, cache */

/* Checks that need the whole config (targets that must resolve, names that
 * must exist), run after providers are complete. Each section file has one;
 * errors carry the line:col of the offending node (keep the node pointers
 * in the section struct's parse state, or re-find them through y). */
lx_status lx_sections_check(lx_config *cfg, lx_yctx *y);
lx_status lx_routing_check(lx_config *cfg, lx_yctx *y);     /* routing.c */
lx_status lx_reliability_check(lx_config *cfg, lx_yctx *y); /* reliability.c */
lx_status lx_server_check(lx_config *cfg, lx_yctx *y);      /* server.c */
lx_status lx_account_check(lx_config *cfg, lx_yctx *y);     /* account.c */

#endif
