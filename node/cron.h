/* cron: work done hz times per second. */
#ifndef SHOAL_CRON_H
#define SHOAL_CRON_H
void cron_start(void);
void cron_set_hz(int hz);
#endif
