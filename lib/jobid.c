/* jobid - time-ordered job Ids (see jobid.h). */
#include <stdint.h>
#include <time.h>
#include <uuid/uuid.h>
#include "jobid.h"

void
jobid_new(char out[JOBID_LEN + 1])
{
	struct timespec ts;
	uint64_t ms;
	uuid_t u;
	int i;

	uuid_generate_random(u);	/* version 4: 122 random bits */
	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	for (i = 0; i < 6; i++)
		u[i] = (unsigned char)(ms >> (40 - 8 * i));
	u[6] = (unsigned char)(0x70 | (u[6] & 0x0f));	/* version 7 */
	/* u[8]'s variant bits (10) are uuid_generate_random's already */
	uuid_unparse_lower(u, out);
}
