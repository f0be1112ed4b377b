/* Detection settings (PRODUCT §6–7, issue 6 item 3): thresholds, health weights and
 * cancel-intent patterns of a workspace, as detect_settings_get gives them. */
#ifndef DROPFIX_DETECT_SETTINGS_PAGE_H
#define DROPFIX_DETECT_SETTINGS_PAGE_H

#include "http/http.h"

/* GET /w/:ws/settings/detection (viewers and up read; the form shows for
 * DETECTION_SETTINGS, admins). The page is built from whatever object
 * detect_settings_get returns: an integer member is a number field, an object of
 * integers (weights) a group of number fields named "<key>.<member>", a list of strings a
 * text area with one entry per line. JSON twin GET /api/v1/w/:ws/settings/detection:
 * {"settings":{…}}. */
int detect_settings_page(struct http_request *req, struct http_response *res);
int detect_settings_api(struct http_request *req, struct http_response *res);

/* POST /w/:ws/settings/detection (admins; a form of the fields above): the changed values
 * go to detect_settings_set; an invalid value re-renders the form (400) with the message
 * at its field; success audits "detection.settings" (detail: the changed keys) and answers
 * 303 with a flash message. POST /api/v1/w/:ws/settings/detection takes the changes as a
 * JSON object and answers 200 {"settings":{…}} or 400 with the error envelope. */
int detect_settings_save(struct http_request *req, struct http_response *res);
int detect_settings_save_api(struct http_request *req, struct http_response *res);

#endif
