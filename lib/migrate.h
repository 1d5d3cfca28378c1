/*
 * migrate - the numbered schema migrations, the only place the database
 * schema changes. Migration i (0-based) takes user_version i to i+1.
 * Never edit a released migration: append a new one.
 */
#ifndef CERTPIPE_MIGRATE_H
#define CERTPIPE_MIGRATE_H

int migrate_count(void);
const char *migrate_sql(int i);

#endif
