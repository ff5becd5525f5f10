/* SQLite, to read fail2ban's ban database from its bytes (sqlite3_deserialize, read-only). */
#include <sqlite3.h>
