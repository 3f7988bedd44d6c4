// master/figures.c - see figures.h. A linear table: a few dozen names at
// most, read once a second.
#include "master/figures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/sat.h"

void master_figures_clear(master_figures_t *self)
{
    free(self->items);
    self->items = NULL;
    self->n = 0;
}

static master_figure_t *s_find(const master_figures_t *self, const char *name)
{
    for (size_t i = 0; i < self->n; i++)
        if (strcmp(self->items[i].name, name) == 0)
            return &self->items[i];
    return NULL;
}

// name's slot, made when there is room (value 0), or NULL.
static master_figure_t *s_slot(master_figures_t *self, const char *name)
{
    master_figure_t *f = s_find(self, name);
    if (f)
        return f;
    if (self->n == MASTER_FIGURES_MAX)
        return NULL;
    if (self->n == 0)
        self->items = apex_calloc(MASTER_FIGURES_MAX, sizeof *self->items);
    f = &self->items[self->n++];
    snprintf(f->name, sizeof f->name, "%s", name);
    f->value = 0;
    return f;
}

bool master_figures_add(master_figures_t *self, const char *name, int64_t delta)
{
    master_figure_t *f = s_slot(self, name);
    if (!f)
        return false;
    // Saturate: a hostile worker's deltas must not wrap the total.
    if (delta > 0 && f->value > INT64_MAX - delta)
        f->value = INT64_MAX;
    else if (delta < 0 && f->value < INT64_MIN - delta)
        f->value = INT64_MIN;
    else
        f->value += delta;
    return true;
}

bool master_figures_set(master_figures_t *self, const char *name, int64_t value)
{
    master_figure_t *f = s_slot(self, name);
    if (f)
        f->value = value;
    return f != NULL;
}

bool master_figures_max(master_figures_t *self, const char *name, int64_t value)
{
    bool is_new = !s_find(self, name);
    master_figure_t *f = s_slot(self, name);
    if (f && (is_new || value > f->value))
        f->value = value;
    return f != NULL;
}

int64_t master_figures_get(const master_figures_t *self, const char *name)
{
    const master_figure_t *f = s_find(self, name);
    return f ? f->value : 0;
}

bool master_figures_has(const master_figures_t *self, const char *name)
{
    return s_find(self, name) != NULL;
}

void master_checks_clear(master_checks_t *self)
{
    for (size_t i = 0; i < self->n; i++)
        free(self->items[i].name);
    free(self->items);
    self->items = NULL;
    self->n = 0;
}

bool master_checks_add(master_checks_t *self, const char *name, uint64_t passes,
                       uint64_t fails)
{
    for (size_t i = 0; i < self->n; i++) {
        if (strcmp(self->items[i].name, name) == 0) {
            self->items[i].passes =
                apex_count_add(self->items[i].passes, passes);
            self->items[i].fails = apex_count_add(self->items[i].fails, fails);
            return true;
        }
    }
    if (self->n == PROTO_MAX_CHECKS)
        return false;
    self->items = apex_realloc(self->items, self->n + 1, sizeof *self->items);
    self->items[self->n++] = (master_check_t){apex_strdup(name), passes, fails};
    return true;
}
