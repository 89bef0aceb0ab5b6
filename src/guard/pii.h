/*
 * pii.h — private to src/guard/: the PERSON and ADDRESS matchers (pii.c)
 * and their rows of the trigger table (patterns.c includes them).
 */
#ifndef LX_GUARD_PII_H
#define LX_GUARD_PII_H

#include "guard/scan_int.h"

size_t lx_m_person_honorific(lx_scan_ctx *cx, int arg, size_t end);
size_t lx_m_person_label(lx_scan_ctx *cx, int arg, size_t end);
size_t lx_m_person_first(lx_scan_ctx *cx, int arg, size_t end);
size_t lx_m_address_en(lx_scan_ctx *cx, int arg, size_t end);
size_t lx_m_address_de(lx_scan_ctx *cx, int arg, size_t end);
size_t lx_m_address_fr(lx_scan_ctx *cx, int arg, size_t end);
size_t lx_m_address_south(lx_scan_ctx *cx, int arg, size_t end);

/* The first-name alternation (Vectorscan syntax), defined in pii.c. */
#define LX_FIRST_NAMES                                                                             \
    "James|John|Robert|Michael|David|Richard|Joseph|Thomas|Charles|Christopher|Daniel|"            \
    "Matthew|Anthony|Steven|Andrew|Paul|Joshua|Kenneth|Kevin|Brian|George|Timothy|"                \
    "Ronald|Jason|Jeffrey|Ryan|Jacob|Gary|Nicholas|Eric|Jonathan|Stephen|Larry|Justin|"            \
    "Scott|Brandon|Benjamin|Samuel|Gregory|Alexander|Patrick|Raymond|Dennis|Jerry|"                \
    "Tyler|Aaron|Henry|Douglas|Peter|Adam|Nathan|Zachary|Walter|Kyle|Harold|Carl|"                 \
    "Jeremy|Keith|Roger|Gerald|Ethan|Arthur|Terry|Christian|Sean|Lawrence|Austin|Joe|"             \
    "Noah|Jesse|Albert|Bryan|Billy|Bruce|Willie|Jordan|Dylan|Alan|Ralph|Gabriel|Roy|"              \
    "Juan|Wayne|Eugene|Logan|Randy|Louis|Russell|Vincent|Philip|Bobby|Johnny|Bradley|"             \
    "Mary|Patricia|Jennifer|Linda|Elizabeth|Barbara|Susan|Jessica|Sarah|Karen|Lisa|"               \
    "Nancy|Betty|Sandra|Margaret|Ashley|Kimberly|Emily|Donna|Michelle|Carol|Amanda|"               \
    "Melissa|Deborah|Stephanie|Rebecca|Sharon|Laura|Cynthia|Dorothy|Amy|Kathleen|"                 \
    "Angela|Shirley|Brenda|Emma|Anna|Pamela|Nicole|Samantha|Katherine|Christine|Helen|"            \
    "Debra|Rachel|Carolyn|Janet|Maria|Catherine|Heather|Diane|Olivia|Julie|Joyce|"                 \
    "Victoria|Kelly|Christina|Lauren|Joan|Evelyn|Judith|Megan|Andrea|Cheryl|Hannah|"               \
    "Jacqueline|Martha|Gloria|Teresa|Ann|Sara|Madison|Kathryn|Janice|Jean|Abigail|"                \
    "Alice|Judy|Sophia|Julia|Denise|Marilyn|Beverly|Charlotte|Natalie|Diana|Brittany|"             \
    "Theresa|Kayla|Alexis|Lori|Jane|Anne|Lucy|Eva|Marie|Tom|Tim|Max|Ben|Sam|Kate|Ella|"            \
    "Hans|Klaus|J\xc3\xbcrgen|Wolfgang|Stefan|Andreas|Thomas|Uwe|Dieter|Horst|Sabine|"             \
    "Ursula|Petra|Monika|Claudia|Katharina|Lukas|Leon|Felix|Maximilian|Jonas|Lena|"                \
    "Jean|Pierre|Fran\xc3\xa7ois|Jacques|Michel|Philippe|Nicolas|Christophe|Isabelle|"             \
    "Nathalie|Sophie|Camille|Antoine|Mathieu|Giuseppe|Giovanni|Marco|Francesco|"                   \
    "Alessandro|Giulia|Chiara|Jos\xc3\xa9|Carlos|Javier|Miguel|Alejandro|Luc\xc3\xad"              \
    "a|"                                                                                           \
    "Carmen|Ana|Pablo|Sergio|Mohammed|Mohamed|Ahmed|Ali|Fatima|Aisha|Omar|Yusuf|Wei|"              \
    "Hiroshi|Yuki|Kenji|Priya|Rahul|Amit|Anil|Sunil|Deepak|Olga|Ivan|Dmitri|Sergei|"               \
    "Natasha|Svetlana|Agnieszka|Piotr|Krzysztof|Lars|Sven|Ingrid|Astrid|Niels"

#define LX_STREET_EN                                                                               \
    "Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|"              \
    "Terrace|Way|Square|Sq|Parkway|Pkwy|Highway|Hwy|Crescent|Close|Gardens"

/* Literal-led on purpose: a leading character class ([0-9], [A-Z]) makes
 * Vectorscan run an automaton over every byte; a literal lets it skip.
 * Word boundaries and the parts before the literal are checked in C. */
#define LX_PII_TRIGGERS                                                                            \
    {"(?:Mr|Mrs|Ms|Mx|Dr|Prof|Sir|Dame|Herr|Frau|Mme|Mlle|Monsieur|Madame|Sr|Sra|Signor|"          \
     "Signora)\\.?[ ]+[A-Z]",                                                                      \
     0, LX_FIND_PERSON, lx_m_person_honorific, 0},                                                 \
        {"(?i:full[ _]name|first[ _]name|last[ _]name|name|patient|customer|employee|"             \
         "contact|nom|nome|nombre)[\"']?[ \\t]*[:=][ \\t]*[\"']?[A-Z]",                            \
         0, LX_FIND_PERSON, lx_m_person_label, 0},                                                 \
        {"(?:" LX_FIRST_NAMES ")[ ]+[A-Z][a-z]", 0, LX_FIND_PERSON, lx_m_person_first, 0},         \
        {"[ ](?:" LX_STREET_EN ")", 0, LX_FIND_ADDRESS, lx_m_address_en, 0},                       \
        {"(?:stra(?:\\xc3\\x9f|ss)e|str\\.|weg|gasse|allee|platz|damm|ufer|Stra(?:\\xc3\\x9f|ss)"  \
         "e|"                                                                                      \
         "Str\\.|Weg|Gasse|Allee|Platz|Ring|Damm|Ufer)[ ]+[0-9]",                                  \
         0, LX_FIND_ADDRESS, lx_m_address_de, 0},                                                  \
        {"[ ](?i:rue|avenue|av\\.|boulevard|bd|place|chemin|all\\xc3\\xa9e|impasse|quai|"          \
         "route|cours)[ ]+",                                                                       \
         0, LX_FIND_ADDRESS, lx_m_address_fr, 0},                                                  \
    {                                                                                              \
        "(?:Via|Viale|Piazza|Corso|Calle|Avenida|Plaza|Paseo|Rua|Travessa|V\\xc3\\xada)[ ]", 0,    \
            LX_FIND_ADDRESS, lx_m_address_south, 0                                                 \
    }

#endif
