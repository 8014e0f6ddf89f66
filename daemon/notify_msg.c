/*
 * The bodies of notification messages (SPEC §6a), built from the check's
 * /status object (render.c: secrets already masked, target redacted):
 *   json       that object plus "check", "event", "instance", "link";
 *   slack      an incoming-webhook message: "text" and "blocks";
 *   pagerduty  an Events API v2 trigger or resolve, dedup_key per check.
 * Pure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "notify_msg.h"
#include "render_int.h"

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* "chat-db is now fail: missing_table: ... (hint: ...)" */
static void summary(const struct pf_notify_event *ev, const cJSON *obj,
		    char *buf, size_t len)
{
	if (ev->recover) {
		snprintf(buf, len, "%s is passing again (%s)", ev->check, ev->instance);
		return;
	}
	snprintf(buf, len, "%s is now %s on %s: %s: %s", ev->check,
		 str(obj, "status") ? str(obj, "status") : "fail", ev->instance,
		 str(obj, "reason") ? str(obj, "reason") : "?",
		 str(obj, "error") ? str(obj, "error") : "");
}

static cJSON *json_body(const struct pf_notify_event *ev, cJSON *obj)
{
	cJSON_AddStringToObject(obj, "check", ev->check);
	cJSON_AddStringToObject(obj, "event", ev->recover ? "recover" : "fail");
	cJSON_AddStringToObject(obj, "instance", ev->instance);
	if (ev->link)
		cJSON_AddStringToObject(obj, "link", ev->link);
	else
		cJSON_AddNullToObject(obj, "link");
	return obj;
}

static void slack_field(cJSON *fields, const char *label, const char *value)
{
	cJSON *f;
	char text[1200];

	if (!value)
		return;
	f = cJSON_CreateObject();
	snprintf(text, sizeof text, "*%s*\n%s", label, value);
	cJSON_AddStringToObject(f, "type", "mrkdwn");
	cJSON_AddStringToObject(f, "text", text);
	cJSON_AddItemToArray(fields, f);
}

static cJSON *slack_body(const struct pf_notify_event *ev, const cJSON *obj)
{
	cJSON *o = cJSON_CreateObject(), *blocks, *sec, *txt, *fields;
	char sum[1200];

	summary(ev, obj, sum, sizeof sum);
	cJSON_AddStringToObject(o, "text", sum);
	blocks = cJSON_AddArrayToObject(o, "blocks");
	sec = cJSON_CreateObject();
	cJSON_AddStringToObject(sec, "type", "section");
	txt = cJSON_AddObjectToObject(sec, "text");
	cJSON_AddStringToObject(txt, "type", "mrkdwn");
	cJSON_AddStringToObject(txt, "text", sum);
	fields = cJSON_AddArrayToObject(sec, "fields");
	if (!ev->recover) {
		slack_field(fields, "hint", str(obj, "hint"));
		slack_field(fields, "caused by", str(obj, "caused_by"));
	}
	slack_field(fields, "target", str(obj, "target"));
	slack_field(fields, "status page", ev->link);
	cJSON_AddItemToArray(blocks, sec);
	return o;
}

static cJSON *pagerduty_body(const struct pf_notify_event *ev, cJSON *obj,
			     const char *routing_key)
{
	cJSON *o = cJSON_CreateObject(), *payload, *links;
	char sum[1024], dedup[400];

	summary(ev, obj, sum, sizeof sum);
	snprintf(dedup, sizeof dedup, "preflightd/%s/%s", ev->instance, ev->check);
	cJSON_AddStringToObject(o, "routing_key", routing_key ? routing_key : "");
	cJSON_AddStringToObject(o, "event_action", ev->recover ? "resolve" : "trigger");
	cJSON_AddStringToObject(o, "dedup_key", dedup);
	if (!ev->recover) {
		payload = cJSON_AddObjectToObject(o, "payload");
		cJSON_AddStringToObject(payload, "summary", sum);
		cJSON_AddStringToObject(payload, "source", ev->instance);
		cJSON_AddStringToObject(payload, "severity",
					str(obj, "status") && strcmp(str(obj, "status"), "warn") == 0 ?
					"warning" : "critical");
		cJSON_AddStringToObject(payload, "component", ev->check);
		cJSON_AddItemToObject(payload, "custom_details", cJSON_Duplicate(obj, 1));
	}
	if (ev->link) {
		cJSON *l = cJSON_CreateObject();

		links = cJSON_AddArrayToObject(o, "links");
		cJSON_AddStringToObject(l, "href", ev->link);
		cJSON_AddStringToObject(l, "text", "preflightd status page");
		cJSON_AddItemToArray(links, l);
	}
	return o;
}

char *pf_notify_body(const struct pf_notify_event *ev, const struct pf_view *v,
		     size_t i, const char *routing_key)
{
	cJSON *obj = pf_render_check_obj(v, i), *body;
	char *text;

	if (!obj)
		return NULL;
	switch (ev->format) {
	case PF_NOTIFY_SLACK:
		body = slack_body(ev, obj);
		cJSON_Delete(obj);
		break;
	case PF_NOTIFY_PAGERDUTY:
		body = pagerduty_body(ev, obj, routing_key);
		cJSON_Delete(obj);
		break;
	default:
		body = json_body(ev, obj);
	}
	text = body ? cJSON_PrintUnformatted(body) : NULL;
	cJSON_Delete(body);
	return text;
}
