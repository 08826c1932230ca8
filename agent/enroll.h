/* `snaptun-agent enroll`: make the agent's client key and certificate, redeem a one-time agent
 * token over the manager's HTTP API (POST /v1/agent-enroll) and write the credentials file
 * (creds.h) that `snaptun-agent --credentials` runs with. */
#ifndef AGENT_ENROLL_H
#define AGENT_ENROLL_H

/* The subcommand, argv[0] being "enroll". The process's exit status: 0 done, 1 refused or
 * failed (the reason on stderr), 2 a usage error. */
int enroll_main(int argc, char **argv);

#endif
