/* Reference counting and waking of jobs. */
#include <stdlib.h>

#include <microhttpd.h>

#include "job.h"
#include "model.h"

srv_job *srv_job_new(void) {
    srv_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    pthread_mutex_init(&j->mu, NULL);
    j->refs = 1;
    j->fd = -1;
    return j;
}

void srv_job_ref(srv_job *j) {
    pthread_mutex_lock(&j->mu);
    j->refs++;
    pthread_mutex_unlock(&j->mu);
}

void srv_job_unref(srv_job *j) {
    if (!j)
        return;
    pthread_mutex_lock(&j->mu);
    int left = --j->refs;
    pthread_mutex_unlock(&j->mu);
    if (left)
        return;
    srv_request_free(&j->req);
    free(j->prompt);
    bn_text_free(&j->text);
    bn_text_free(&j->wire);
    srv_model_unref(j->model);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

void srv_job_wake(srv_job *j) {
    pthread_mutex_lock(&j->mu);
    struct MHD_Connection *c = j->suspended ? j->conn : NULL;
    j->suspended = 0;
    pthread_mutex_unlock(&j->mu);
    /* Only the thread that cleared `suspended` resumes, so exactly once; a
     * suspended connection is not processed by MHD, so it is still alive. */
    if (c)
        MHD_resume_connection(c);
}
