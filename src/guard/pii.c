/*
 * pii.c — PERSON and ADDRESS, best effort.
 *
 * Names and addresses have no checksum, so these matchers need context
 * that ordinary prose rarely has, and accept only what that context
 * introduces:
 *
 * PERSON is one of
 *   - an honorific (Mr, Mrs, Ms, Mx, Dr, Prof, Sir, Herr, Frau, Mme,
 *     Monsieur, Sr, Signora, ...) followed by 1-3 capitalised words: the
 *     finding is the words, not the title ("Dr. [Jane Goodall]");
 *   - a label (name:, full name=, patient:, customer:, contact:, nom:, ...)
 *     followed by 2-4 capitalised words;
 *   - a first name from an embedded list of ~250 common first names
 *     (English, German, French, Italian, Spanish, Arabic, Indian, Slavic,
 *     Nordic; names that are also common English words - Will, May, Mark,
 *     Grace - are left out) followed by 1-2 capitalised words.
 *   Capitalised words are an upper-case letter (ASCII or Latin-1 in UTF-8)
 *   and at least one lower-case letter; a stop list (The, Street, Monday,
 *   January, Inc, GmbH, ...) ends a name.
 *
 * ADDRESS is one of
 *   - English: house number, 1-4 capitalised words, a street type (Street,
 *     St., Avenue, Rd, Blvd, Lane, Drive, Way, ...), then optionally
 *     ", City, ST 12345" / ", City 12345" / ", London NW1 6XE" (the city is
 *     taken only when a state, ZIP or UK postcode follows);
 *   - German: a capitalised street word ending in -straße/-strasse/-str./
 *     -weg/-gasse/-allee/-platz/-damm/-ufer, or an adjective plus a
 *     standalone Straße/Weg/Platz/Ring/... ("Berliner Straße"), then a house
 *     number ("12", "12a"), then optionally ", 10115 Berlin";
 *   - French: house number (bis/ter), rue/avenue/boulevard/place/chemin/
 *     allée/impasse/quai/route/cours, then particles (de, du, des, la, l',
 *     ...) and capitalised words, then optionally ", 75008 Paris";
 *   - Italian / Spanish / Portuguese: Via/Viale/Piazza/Corso/Calle/Avenida/
 *     Plaza/Paseo/Rua/(Gran) Vía, capitalised words and particles (del, di,
 *     della, de, ...), then a house number ("Via Roma 10", "Calle de
 *     Alcalá, 45"), then optionally "00184 Roma".
 */
#include <string.h>

#include "guard/pii.h"

#define T(x) ((uint32_t)(LX_FIND_##x))

static bool upper_at(const unsigned char *t, size_t len, size_t i)
{
    if (i >= len)
        return false;
    if (lx_is_upper(t[i]))
        return true;
    return t[i] == 0xC3 && i + 1 < len && t[i + 1] >= 0x80 && t[i + 1] <= 0x9E && t[i + 1] != 0x97;
}

static bool letter_byte(int c)
{
    return lx_is_alpha(c) || c >= 0x80;
}

/* A capitalised word at i: upper letter, then letters (at least one lower
 * case or non-ASCII), apostrophes and inner hyphens. Returns its end, or i.
 * An initial ("F.") counts when `initials` is set. */
static size_t cap_word(const unsigned char *t, size_t len, size_t i, bool initials)
{
    if (!upper_at(t, len, i))
        return i;
    size_t j = i + (t[i] == 0xC3 ? 2 : 1);
    bool lower = false;
    while (j < len && j - i < 40) {
        if (lx_is_lower(t[j]) || t[j] >= 0x80) {
            lower = true;
            j++;
        } else if (lx_is_upper(t[j]) && (lower || t[j - 1] == '\'')) {
            j++; /* McDonald, O'Neil */
        } else if ((t[j] == '-' || t[j] == '\'') && j + 1 < len && letter_byte(t[j + 1])) {
            j++;
        } else {
            break;
        }
    }
    if (!lower) {
        if (initials && j == i + 1 && j < len && t[j] == '.')
            return j + 1;
        return i;
    }
    if (j < len && (lx_is_digit(t[j]) || t[j] == '_' || lx_is_upper(t[j])))
        return i;
    if (j - i > 3 && t[j - 2] == '\'' && t[j - 1] == 's')
        j -= 2; /* possessive: "Tschalar's" */
    return j;
}

static bool stop_word(const unsigned char *t, size_t s, size_t e)
{
    static const char *const stop[] = {
        "The",      "This",     "That",      "These",    "Those",      "And",      "Or",
        "But",      "In",       "On",        "At",       "For",        "With",     "From",
        "To",       "Of",       "By",        "As",       "Is",         "Was",      "Are",
        "Has",      "Have",     "Had",       "It",       "He",         "She",      "We",
        "They",     "You",      "His",       "Her",      "Our",        "Their",    "Its",
        "My",       "If",       "When",      "Then",     "So",         "Not",      "No",
        "Yes",      "All",      "Any",       "Some",     "Street",     "Avenue",   "Road",
        "Lane",     "Drive",    "Monday",    "Tuesday",  "Wednesday",  "Thursday", "Friday",
        "Saturday", "Sunday",   "January",   "February", "March",      "April",    "June",
        "July",     "August",   "September", "October",  "November",   "December", "Inc",
        "Ltd",      "Llc",      "Corp",      "Gmbh",     "University", "Hospital", "Bank",
        "Airport",  "Station",  "City",      "County",   "State",      "Park",     "Center",
        "Centre",   "Hall",     "School",    "College",  "Team",       "Group",    "Company",
        "Build",    "Run",      "Test",      "Tests",    "Deploy",     "Release",  "Update",
        "Install",  "Check",    "Setup",     "Default",  "Main",       "Please",   "Thanks",
        "Dear",     "Hello",    "Hi",        "Mr",       "Mrs",        "Ms",       "Mx",
        "Dr",       "Prof",     "Sir",       "Dame",     "Herr",       "Frau",     "Mme",
        "Mlle",     "Monsieur", "Madame",    "Sr",       "Sra",        "Der",      "Die",
        "Das",      "Und",      "Le",        "La",       "Les",        "Et",       NULL};
    for (const char *const *w = stop; *w; w++)
        if (strlen(*w) == e - s && lx_ci_at(t, e, s, *w))
            return true;
    return false;
}

/* 1..maxw capitalised words separated by single spaces, starting at i.
 * Returns the end of the last accepted word (i if none); *nw = count. */
static size_t name_words(const unsigned char *t, size_t len, size_t i, int maxw, int *nw)
{
    size_t end = i, prev = i;
    bool initial = false;
    *nw = 0;
    while (*nw < maxw) {
        size_t e = cap_word(t, len, i, *nw > 0);
        if (e == i || stop_word(t, i, e))
            break;
        (*nw)++;
        prev = end;
        end = e;
        initial = t[e - 1] == '.';
        if (!(e + 1 < len && t[e] == ' '))
            break;
        i = e + 1;
    }
    if (initial) { /* never end on an initial */
        (*nw)--;
        end = prev;
    }
    return end;
}

/* The letters before t[i] (a title, a label) start a word. */
static bool word_starts(const unsigned char *t, size_t i)
{
    while (i > 0 && lx_is_alpha(t[i - 1]))
        i--;
    return i == 0 || !(letter_byte(t[i - 1]) || lx_is_digit(t[i - 1]));
}

size_t lx_m_person_honorific(lx_scan_ctx *cx, int arg, size_t end)
{
    const unsigned char *t = cx->t;
    size_t h = end - 1;
    while (h > 0 && t[h - 1] == ' ')
        h--;
    if (h > 0 && t[h - 1] == '.')
        h--;
    if (!word_starts(t, h))
        return end;
    int nw;
    size_t s = end - 1, e = name_words(cx->t, cx->len, s, 3, &nw);
    if (nw >= 1 && e > s)
        lx_emit(cx, T(PERSON), s, e);
    return e > end ? e : end;
}

size_t lx_m_person_label(lx_scan_ctx *cx, int arg, size_t end)
{
    const unsigned char *t = cx->t;
    size_t h = end - 1;
    while (h > 0 && !lx_is_alpha(t[h - 1]) && end - h < 12)
        h--;
    if (!word_starts(t, h)) /* "username:", "filename=" */
        return end;
    int nw;
    size_t s = end - 1, e = name_words(cx->t, cx->len, s, 4, &nw);
    if (nw >= 2)
        lx_emit(cx, T(PERSON), s, e);
    return e > end ? e : end;
}

size_t lx_m_person_first(lx_scan_ctx *cx, int arg, size_t end)
{
    const unsigned char *t = cx->t;
    size_t sur = end - 2, s = sur;
    while (s > 0 && t[s - 1] == ' ')
        s--;
    while (s > 0 && (letter_byte(t[s - 1]) || t[s - 1] == '-'))
        s--;
    for (size_t k = s + 1; k < sur && t[k] != ' '; k++)
        if (lx_is_upper(t[k]) && t[k - 1] != '-')
            return end; /* "AJohn", "McJohn": the list name is not the word */
    if (!upper_at(t, cx->len, s))
        return end;
    int nw;
    size_t e = name_words(t, cx->len, sur, 2, &nw);
    if (nw >= 1)
        lx_emit(cx, T(PERSON), s, e);
    return e > end ? e : end;
}

/* ---- ADDRESS ------------------------------------------------------------ */

static size_t skip_spaces(const unsigned char *t, size_t len, size_t i)
{
    while (i < len && t[i] == ' ')
        i++;
    return i;
}

static size_t digits_at(const unsigned char *t, size_t len, size_t i, size_t max)
{
    size_t j = i;
    while (j < len && j - i < max && lx_is_digit(t[j]))
        j++;
    return j;
}

/* ", 10115 Berlin" / " 75008 Paris": a postcode of 4-5 digits and a city.
 * Returns the new end, or i. */
static size_t postcode_city(const unsigned char *t, size_t len, size_t i)
{
    size_t j = i;
    if (j < len && t[j] == ',')
        j++;
    j = skip_spaces(t, len, j);
    if (j == i)
        return i;
    size_t d = digits_at(t, len, j, 6);
    if (d - j < 4 || d - j > 5 || d >= len || t[d] != ' ')
        return i;
    int nw;
    size_t e = name_words(t, len, d + 1, 3, &nw);
    return nw ? e : i;
}

static bool en_street_type(const unsigned char *t, size_t s, size_t e)
{
    static const char *const types[] = {"Street",    "St",    "Avenue",  "Ave",  "Road",    "Rd",
                                        "Boulevard", "Blvd",  "Lane",    "Ln",   "Drive",   "Dr",
                                        "Court",     "Ct",    "Place",   "Pl",   "Terrace", "Way",
                                        "Square",    "Sq",    "Parkway", "Pkwy", "Highway", "Hwy",
                                        "Crescent",  "Close", "Gardens", NULL};
    for (const char *const *w = types; *w; w++)
        if (strlen(*w) == e - s && !memcmp(t + s, *w, e - s))
            return true;
    return false;
}

/* From a house number at p: does "N[a] Word Word Type" end exactly at
 * `end` (the end of the street type)? */
static bool en_street_from(const unsigned char *t, size_t len, size_t p, size_t end)
{
    size_t j = digits_at(t, len, p, 5);
    if (j == p)
        return false;
    if (j < len && lx_is_alpha(t[j]))
        j++;
    if (j >= len || t[j] != ' ')
        return false;
    for (int w = 0; w < 5; w++) {
        j = skip_spaces(t, len, j);
        if (j >= len || !lx_is_upper(t[j]))
            return false;
        size_t s = j;
        while (j < len && (lx_is_alpha(t[j]) || t[j] == '\'' || t[j] == '-'))
            j++;
        if (j == end)
            return w > 0 && en_street_type(t, s, j);
        if (j > end)
            return false;
        if (j < len && t[j] == '.')
            j++;
        if (j >= len || t[j] != ' ')
            return false;
    }
    return false;
}

size_t lx_m_address_en(lx_scan_ctx *cx, int arg, size_t end)
{
    const unsigned char *t = cx->t;
    size_t len = cx->len;
    if (end < len && lx_is_alpha(t[end]))
        return end; /* "St" of "Street", "Way" of "Wayne" */
    size_t w = end;
    while (w > 0 && end - w < 100 &&
           (lx_is_alnum(t[w - 1]) || t[w - 1] == ' ' || t[w - 1] == '.' || t[w - 1] == '\'' ||
            t[w - 1] == '-'))
        w--;
    size_t s = end;
    for (size_t p = w; p < end; p++)
        if (lx_is_digit(t[p]) && (p == 0 || !lx_is_alnum(t[p - 1])) &&
            en_street_from(t, len, p, end)) {
            s = p;
            break;
        }
    if (s == end)
        return end;
    size_t e = end;
    if (e < len && t[e] == '.')
        e++;
    /* ", Springfield, IL 62704" / ", London NW1 6XE" */
    size_t j = e;
    if (j < len && t[j] == ',') {
        int nw;
        size_t c = name_words(t, len, skip_spaces(t, len, j + 1), 3, &nw);
        if (nw) {
            size_t k = c;
            if (k < len && t[k] == ',')
                k++;
            k = skip_spaces(t, len, k);
            if (k + 1 < len && lx_is_upper(t[k]) && lx_is_upper(t[k + 1]) &&
                (k + 2 >= len || !lx_is_alnum(t[k + 2]))) {
                size_t z = digits_at(t, len, skip_spaces(t, len, k + 2), 5);
                e = z - skip_spaces(t, len, k + 2) == 5 ? z : k + 2;
            } else if (digits_at(t, len, k, 5) - k == 5) {
                e = k + 5;
            } else if (k + 5 < len && lx_is_upper(t[k])) { /* UK: NW1 6XE, SW1A 1AA */
                size_t q = k;
                while (q < len && q - k < 4 && lx_is_alnum(t[q]))
                    q++;
                if (q + 3 < len && t[q] == ' ' && lx_is_digit(t[q + 1]) && lx_is_upper(t[q + 2]) &&
                    lx_is_upper(t[q + 3]) && q - k >= 2)
                    e = q + 4;
            }
        }
    }
    lx_emit(cx, T(ADDRESS), s, e);
    return e;
}

size_t lx_m_address_de(lx_scan_ctx *cx, int arg, size_t end)
{
    static const char *const solo[] = {"Stra\xc3\x9f"
                                       "e",
                                       "Strasse",
                                       "Str.",
                                       "Weg",
                                       "Gasse",
                                       "Allee",
                                       "Platz",
                                       "Ring",
                                       "Damm",
                                       "Ufer",
                                       NULL};
    const unsigned char *t = cx->t;
    size_t len = cx->len, num = end - 1, s = num;
    while (s > 0 && t[s - 1] == ' ')
        s--;
    size_t we = s;
    while (s > 0 && (letter_byte(t[s - 1]) || t[s - 1] == '.' || t[s - 1] == '-'))
        s--;
    for (const char *const *w = solo; *w; w++)
        if (strlen(*w) == we - s && !memcmp(t + s, *w, we - s)) {
            if (s < 2 || t[s - 1] != ' ')
                return end;
            s--;
            while (s > 0 && letter_byte(t[s - 1]))
                s--;
            break;
        }
    if (!upper_at(t, len, s) || (s > 0 && (lx_is_alnum(t[s - 1]) || t[s - 1] >= 0x80)))
        return end;
    size_t e = digits_at(t, len, num, 4);
    if (e < len && lx_is_lower(t[e]) && !(e + 1 < len && lx_is_alpha(t[e + 1])))
        e++;
    if (e < len && (lx_is_alnum(t[e]) || t[e] >= 0x80))
        return e;
    e = postcode_city(t, len, e);
    lx_emit(cx, T(ADDRESS), s, e);
    return e;
}

size_t lx_m_address_fr(lx_scan_ctx *cx, int arg, size_t end)
{
    static const char *const particles[] = {"de", "du", "des",      "la",  "le",  "les",
                                            "l'", "d'", "\xc3\xa0", "aux", "sur", NULL};
    const unsigned char *t = cx->t;
    size_t len = cx->len, s = end;
    while (s > 0 && t[s - 1] == ' ') /* spaces after the street word */
        s--;
    while (s > 0 && (lx_is_alpha(t[s - 1]) || t[s - 1] == '.' || t[s - 1] >= 0x80))
        s--; /* the street word */
    while (s > 0 && t[s - 1] == ' ')
        s--;
    if (s > 0 && t[s - 1] == ',')
        s--;
    if (s >= 3 && (lx_ci_at(t, len, s - 3, "bis") || lx_ci_at(t, len, s - 3, "ter")))
        s -= 3;
    if (s > 0 && t[s - 1] == ' ')
        s--;
    size_t d = s;
    while (s > 0 && lx_is_digit(t[s - 1]) && d - s < 4)
        s--;
    if (s == d || (s > 0 && (lx_is_alnum(t[s - 1]) || t[s - 1] == '.' || t[s - 1] == ',')))
        return end;
    size_t j = end, e = end;
    int caps = 0;
    for (int k = 0; k < 6 && j < len; k++) {
        size_t c = cap_word(t, len, j, false);
        if (c > j) {
            caps++;
            e = j = c;
        } else {
            const char *const *p = particles;
            for (; *p; p++) {
                size_t pl = strlen(*p);
                if (lx_ci_at(t, len, j, *p) && j + pl < len &&
                    (t[j + pl] == ' ' || (*p)[pl - 1] == '\'')) {
                    j += pl;
                    break;
                }
            }
            if (!*p)
                break;
        }
        if (j < len && t[j] == ' ')
            j++;
    }
    if (!caps)
        return end;
    e = postcode_city(t, len, e);
    lx_emit(cx, T(ADDRESS), s, e);
    return e;
}

size_t lx_m_address_south(lx_scan_ctx *cx, int arg, size_t end)
{
    static const char *const particles[] = {"del", "della", "delle", "dei", "degli", "di",
                                            "de",  "la",    "las",   "los", "do",    "da",
                                            "dos", "das",   "y",     NULL};
    const unsigned char *t = cx->t;
    size_t len = cx->len, s = end - 1;
    while (s > 0 && letter_byte(t[s - 1]))
        s--;
    int caps = 0;
    if (s >= 5 && !memcmp(t + s - 5, "Gran ", 5)) {
        s -= 5;
        caps = 1; /* "Gran Vía" is a whole name */
    }
    if (s > 0 && (letter_byte(t[s - 1]) || lx_is_digit(t[s - 1])))
        return end;
    size_t j = skip_spaces(t, len, end), last = caps ? end - 1 : 0;
    for (int k = 0; k < 6 && j < len; k++) {
        size_t c = cap_word(t, len, j, false);
        if (c > j) {
            caps++;
            last = j = c;
        } else {
            const char *const *p = particles;
            for (; *p; p++) {
                size_t pl = strlen(*p);
                if (lx_ci_at(t, len, j, *p) && j + pl < len && t[j + pl] == ' ') {
                    j += pl;
                    break;
                }
            }
            if (!*p)
                break;
        }
        if (!(j < len && t[j] == ' '))
            break;
        j++;
    }
    if (!caps)
        return end;
    size_t n = last; /* ", 45" / " 10" / " 28b" */
    if (n < len && t[n] == ',')
        n++;
    n = skip_spaces(t, len, n);
    size_t d = digits_at(t, len, n, 4);
    if (d == n || d == last)
        return end;
    if (d < len && lx_is_lower(t[d]) && !(d + 1 < len && lx_is_alpha(t[d + 1])))
        d++;
    if (d < len && (lx_is_alnum(t[d]) || t[d] >= 0x80))
        return end;
    size_t e = postcode_city(t, len, d);
    lx_emit(cx, T(ADDRESS), s, e);
    return e;
}
