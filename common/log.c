// common/log.c - see log.h. One fprintf per line, so lines from several
// threads do not interleave. The secrets to mask are read under a mutex:
// a worker sets them when a scenario arrives, while its other threads
// may log.
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/secrets.h"

#define APEX_LOG_LINE_MAX 4096

static struct {
    char name[64];
    char host[64];
    apex_log_level_t level;
} s_log = {"apex", "", APEX_LOG_INFO};

static pthread_mutex_t s_secrets_lock = PTHREAD_MUTEX_INITIALIZER;
static const apex_secrets_t *s_secrets; // guarded by s_secrets_lock

void apex_log_set_secrets(const apex_secrets_t *secrets)
{
    pthread_mutex_lock(&s_secrets_lock);
    s_secrets = secrets;
    pthread_mutex_unlock(&s_secrets_lock);
}

void apex_log_init(const char *name, apex_log_level_t level)
{
    snprintf(s_log.name, sizeof s_log.name, "%s", name);
    if (gethostname(s_log.host, sizeof s_log.host) != 0)
        snprintf(s_log.host, sizeof s_log.host, "localhost");
    s_log.host[sizeof s_log.host - 1] = '\0';
    s_log.level = level;
}

int apex_log_to_file(const char *path, apex_error_t *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return apex_error_set(err, "%s: cannot open: %s", path,
                              strerror(errno));
    fflush(stderr);
    int rc = dup2(fd, STDERR_FILENO); // dup2 clears FD_CLOEXEC on fd 2
    int saved = errno;
    close(fd);
    if (rc < 0)
        return apex_error_set(err, "%s: cannot log there: %s", path,
                              strerror(saved));
    return 0;
}

int apex_log_level_parse(const char *text, apex_log_level_t *level)
{
    static const struct {
        const char *name;
        apex_log_level_t level;
    } levels[] = {
        {"DEBUG", APEX_LOG_DEBUG},     {"INFO", APEX_LOG_INFO},
        {"WARNING", APEX_LOG_WARNING}, {"WARN", APEX_LOG_WARNING},
        {"ERROR", APEX_LOG_ERROR},     {"CRITICAL", APEX_LOG_CRITICAL},
    };
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        if (strcasecmp(text, levels[i].name) == 0) {
            *level = levels[i].level;
            return 0;
        }
    }
    return -1;
}

int apex_log_level_arg(const char *text, apex_log_level_t *level,
                       apex_error_t *err)
{
    if (apex_log_level_parse(text, level) == 0)
        return 0;
    return apex_error_set(err,
                          "expected DEBUG, INFO, WARNING or ERROR, got "
                          "'%s'",
                          text);
}

bool apex_log_enabled(apex_log_level_t level)
{
    return level >= s_log.level;
}

static const char *s_level_name(apex_log_level_t level)
{
    switch (level) {
    case APEX_LOG_DEBUG:
        return "DEBUG";
    case APEX_LOG_INFO:
        return "INFO";
    case APEX_LOG_WARNING:
        return "WARNING";
    case APEX_LOG_ERROR:
        return "ERROR";
    default:
        return "CRITICAL";
    }
}

void apex_log(apex_log_level_t level, const char *fmt, ...)
{
    if (!apex_log_enabled(level))
        return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);

    char line[APEX_LOG_LINE_MAX];
    int n = snprintf(line, sizeof line, "[%s,%03d] %s/%s/%s: ", stamp,
                     (int)(tv.tv_usec / 1000), s_log.host, s_level_name(level),
                     s_log.name);
    if (n < 0 || (size_t)n >= sizeof line)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&s_secrets_lock);
    apex_secrets_mask_in_place(s_secrets, line + n);
    pthread_mutex_unlock(&s_secrets_lock);
    fprintf(stderr, "%s\n", line);
}
