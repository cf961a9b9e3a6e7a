// The minimal Kamailio of the early-media feasibility test (not ccfed.cfg): it anchors every
// INVITE at rtpengine (offer) before suspending it, and lets a test process standing in for the
// site agent drive it over evapi: provisional (a 183 carrying the SDP the site agent got from
// rtpengine), play/stop a file to the caller, relay to an agent. It answers rtpengine with the
// agent's 200 under the far-end tag, stops playback then, and deletes the session on BYE and
// CANCEL. Each step reports back over evapi, so the test can assert the recipe step by step.

export interface EarlyMediaKamailioPorts {
  readonly sip: number;
  readonly evapi: number;
  readonly rtpengineNg: number;
  /** rtpengine's ng-over-HTTP URL, for the early-media answer made by Kamailio itself. */
  readonly rtpengineNgHttp: string;
}

/** Dialled numbers starting so make Kamailio answer rtpengine itself, before suspending. */
export const KAMAILIO_EARLY_ANSWER_PREFIX = '45';

// The "black hole" the site agent's early-media answer to rtpengine claims the far end listens on: 127.0.0.1 port 9
// (discard), PCMU and telephone-event like the caller's offer, sendrecv so that rtpengine tells
// the caller to send (a sendonly or 0.0.0.0 answer would make the caller stop sending, and with it
// its DTMF).
export const BLACK_HOLE_SDP = [
  'v=0',
  'o=- 1 1 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 9 RTP/AVP 0 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=sendrecv',
  '',
].join('\r\n');

/**
 * The To tag under which rtpengine knows the far end of the caller: the black hole from the
 * early-media answer on, then the agent, whose answer is given under the same tag. rtpengine
 * pairs ports per pair of tags: answering the agent's 200 under its own To tag would open a new
 * pair, move the caller to a new port and leave the agent sending to the black hole's.
 */
export const FAR_END_TAG = 'ccfed-far-end';

export function earlyMediaKamailioConfig(ports: EarlyMediaKamailioPorts): string {
  return `#!KAMAILIO
debug=2
log_stderror=yes
children=2
listen=udp:127.0.0.1:${ports.sip}
disable_tcp=yes
auto_aliases=no
alias="127.0.0.1:${ports.sip}"
dns=no
rev_dns=no

mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "sanity.so"
loadmodule "jansson.so"
loadmodule "evapi.so"
loadmodule "rtpengine.so"
loadmodule "jsonrpcs.so"
loadmodule "http_client.so"

modparam("tm", "auto_inv_100", 1)
modparam("tm", "fr_inv_timer", 60000)
modparam("rr", "append_fromtag", 1)
modparam("evapi", "bind_addr", "127.0.0.1:${ports.evapi}")
modparam("rtpengine", "rtpengine_sock", "udp:127.0.0.1:${ports.rtpengineNg}")
modparam("rtpengine", "media_duration", "$var(media_ms)")
# jsonrpc_exec runs tm.reply_callid, the one way to send a provisional reply with a body to a
# suspended INVITE without resuming it. Its FIFO sits in this instance's run directory.
modparam("jsonrpcs", "transport", 2)
modparam("http_client", "query_result", 0)
modparam("http_client", "connection_timeout", 2)

request_route {
	if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
	if (is_method("CANCEL")) {
		if (t_check_trans()) {
			rtpengine_delete();
			route(EV_DELETED);
			t_relay();
		}
		exit;
	}
	if (!is_method("ACK")) {
		if (t_precheck_trans()) { t_check_trans(); exit; }
		t_check_trans();
	}
	if (has_totag()) {
		if (loose_route()) {
			if (is_method("BYE")) {
				rtpengine_delete();
				route(EV_DELETED);
			}
			if (is_method("INVITE|UPDATE") && has_body("application/sdp")) {
				# rtpengine knows the agent as FAR_END_TAG, not by its SIP tag: a re-offer from the
				# caller (downstream) names it as to-tag, one from the agent (upstream) as from-tag.
				$var(dir) = "agent";
				if (is_direction("downstream")) {
					$var(dir) = "caller";
					rtpengine_offer("to-tag=${FAR_END_TAG} port-latching");
					t_on_reply("REOFFER_FROM_CALLER");
				} else {
					rtpengine_offer("from-tag=${FAR_END_TAG} port-latching");
					t_on_reply("REOFFER_FROM_AGENT");
				}
				route(EV_REOFFER);
			}
			t_relay();
			exit;
		}
		if (is_method("ACK")) { if (t_check_trans()) t_relay(); exit; }
		sl_send_reply("404", "Not here");
		exit;
	}
	if (!is_method("INVITE")) { sl_send_reply("405", "Method Not Allowed"); exit; }
	record_route();
	if (!t_newtran()) { sl_reply_error(); exit; }

	# 1. Anchor: rtpengine rewrites the caller's offer in the INVITE's body (saved with the
	#    transaction when it is suspended), which is what the agent's phone will be sent.
	#    The early-media answer cannot be made here: Kamailio 5.6's rtpengine_answer() refuses
	#    any request but ACK, so the site agent sends it to rtpengine itself (ng "answer").
	if (!rtpengine_offer("replace-origin replace-session-connection")) {
		t_reply("503", "Media Anchor Unavailable");
		exit;
	}

	# 2, the Kamailio way (dialled numbers starting ${KAMAILIO_EARLY_ANSWER_PREFIX}): Kamailio makes the
	#    black-hole answer itself, through rtpengine's ng over HTTP in JSON (http_client works in a
	#    request route, where the rtpengine module refuses an answer), and sets the 183's body
	#    before suspending, so every provisional reply of the transaction repeats it. Otherwise
	#    the site agent makes that answer over ng and hands the SDP with each provisional.
	$var(early_sdp) = "";
	if ($rU =~ "^${KAMAILIO_EARLY_ANSWER_PREFIX}") {
		$var(ng) = "{}";
		jansson_set("string", "command", "answer", "$var(ng)");
		jansson_set("string", "call-id", "$ci", "$var(ng)");
		jansson_set("string", "from-tag", "$ft", "$var(ng)");
		jansson_set("string", "to-tag", "${FAR_END_TAG}", "$var(ng)");
		jansson_set("string", "sdp", "${BLACK_HOLE_SDP.replaceAll('\r\n', '\\r\\n')}", "$var(ng)");
		# The cookie must be unique per request: rtpengine answers a known cookie from its cache.
		$var(cookie) = "early-" + $ci;
		$var(code) = http_client_query("${ports.rtpengineNgHttp}", "$var(cookie) $var(ng)",
			"Content-Type: application/x-rtpengine-ng", "$var(resp)");
		$var(skip) = $(var(cookie){s.len}) + 1;
		$var(json) = $(var(resp){s.substr,$var(skip),0});
		$var(result) = "";
		jansson_get("result", "$var(json)", "$var(result)");
		if ($var(code) != 200 || $var(result) != "ok" || !jansson_get("sdp", "$var(json)", "$var(early_sdp)")) {
			xlog("L_ERR", "early-media answer failed: $var(code) $var(resp)\n");
			rtpengine_delete();
			t_reply("503", "Media Anchor Unavailable");
			exit;
		}
		set_reply_body("$var(early_sdp)", "application/sdp");
	}

	$var(ev) = "{}";
	jansson_set("string", "event", "invite", "$var(ev)");
	jansson_set("string", "earlySdp", "$var(early_sdp)", "$var(ev)");
	jansson_set("integer", "tindex", "$T(id_index)", "$var(ev)");
	jansson_set("integer", "tlabel", "$T(id_label)", "$var(ev)");
	jansson_set("string", "callid", "$ci", "$var(ev)");
	jansson_set("integer", "cseq", "$(cs{s.int})", "$var(ev)");
	jansson_set("string", "fromTag", "$ft", "$var(ev)");
	jansson_set("string", "fromUser", "$fU", "$var(ev)");
	jansson_set("string", "ruriUser", "$rU", "$var(ev)");
	jansson_set("string", "sdp", "$rb", "$var(ev)");
	if (!evapi_async_relay("$var(ev)")) {
		rtpengine_delete();
		t_reply("503", "Service Unavailable");
	}
	exit;
}

event_route[evapi:message-received] {
	$var(msg) = $evapi(msg);
	$var(action) = "";
	jansson_get("action", "$var(msg)", "$var(action)");
	jansson_get("callid", "$var(msg)", "$var(callid)");
	jansson_get("cseq", "$var(msg)", "$var(cseq)");
	jansson_get("fromTag", "$var(msg)", "$var(fromtag)");
	jansson_get("earlyTag", "$var(msg)", "$var(earlytag)");
	jansson_get("file", "$var(msg)", "$var(file)");
	jansson_get("tindex", "$var(msg)", "$var(tindex)");
	jansson_get("tlabel", "$var(msg)", "$var(tlabel)");
	jansson_get("uri", "$var(msg)", "$var(uri)");
	jansson_get("code", "$var(msg)", "$var(code)");
	xlog("L_INFO", "app cmd $var(action) $var(callid)\\n");

	if ($var(action) == "provisional" && !jansson_get("sdp", "$var(msg)", "$var(sdp)")) {
		# The body set before suspending (Kamailio's early answer) rides on every provisional.
		$var(ok) = t_reply_callid("$var(callid)", "$var(cseq)", "$var(code)", "Session Progress");
		route(EV_RESULT);
		exit;
	}
	if ($var(action) == "provisional") {
		# 183 with rtpengine's caller-facing SDP, under the To tag the site agent gave rtpengine
		# for the early-media far end, to the suspended INVITE found by Call-ID and CSeq.
		jansson_get("sdp", "$var(msg)", "$var(sdp)");
		jansson_get("toTag", "$var(msg)", "$var(totag)");
		$var(params) = "[]";
		jansson_append("integer", "", "$var(code)", "$var(params)");
		jansson_append("string", "", "Session Progress", "$var(params)");
		jansson_append("string", "", "$var(callid)", "$var(params)");
		jansson_append("string", "", "$var(cseq)", "$var(params)");
		jansson_append("string", "", "$var(totag)", "$var(params)");
		jansson_append("string", "", "Content-Type: application/sdp\r\n", "$var(params)");
		jansson_append("string", "", "$var(sdp)", "$var(params)");
		$var(rpc) = "{}";
		jansson_set("string", "jsonrpc", "2.0", "$var(rpc)");
		jansson_set("string", "method", "tm.reply_callid", "$var(rpc)");
		jansson_set("array", "params", "$var(params)", "$var(rpc)");
		jansson_set("integer", "id", "1", "$var(rpc)");
		jsonrpc_exec("$var(rpc)");
		xlog("L_INFO", "tm.reply_callid: $jsonrpl(code) $jsonrpl(text) $jsonrpl(body)\n");
		$var(ok) = 1;
		if ($jsonrpl(code) != 200) $var(ok) = -1;
		route(EV_RESULT);
		exit;
	}
	if ($var(action) == "play") {
		# The selected party is the one that hears the file: the caller, by its From tag. This
		# route has no SIP message, so Call-ID and both tags are given.
		$var(media_ms) = -1;
		$var(ok) = play_media("call-id=$var(callid) from-tag=$var(fromtag) to-tag=$var(earlytag) file=$var(file)");
		route(EV_RESULT);
		exit;
	}
	if ($var(action) == "stop") {
		$var(ok) = stop_media("call-id=$var(callid) from-tag=$var(fromtag) to-tag=$var(earlytag)");
		route(EV_RESULT);
		exit;
	}
	if ($var(action) == "relay") {
		if (!t_continue("$var(tindex)", "$var(tlabel)", "RELAY")) {
			$var(ok) = -1;
			route(EV_RESULT);
		}
		exit;
	}
}

route[EV_RESULT] {
	$var(e) = "{}";
	jansson_set("string", "event", "result", "$var(e)");
	jansson_set("string", "action", "$var(action)", "$var(e)");
	jansson_set("integer", "ok", "$var(ok)", "$var(e)");
	jansson_set("integer", "mediaMs", "$var(media_ms)", "$var(e)");
	evapi_relay("$var(e)");
}

# Resumed by t_continue with the suspended INVITE (its body already rtpengine's offer).
route[RELAY] {
	$ru = $var(uri);
	t_on_reply("AGENT_REPLY");
	if (!t_relay()) {
		t_reply("500", "Relay failed");
	}
}

onreply_route[AGENT_REPLY] {
	# An agent's 180 without SDP would stop the caller's early media (baresip restarts its
	# stream and hears silence); the caller keeps hearing the queue until the agent answers.
	if (status =~ "^18[0-9]$" && !has_body("application/sdp")) {
		drop;
	}
	if (status =~ "^(18[0-9]|2[0-9][0-9])$" && has_body("application/sdp")) {
		# The agent answers as the far end the site agent's black-hole answer created: same tag,
		# new SDP. rtpengine keeps both ports (the caller's from the 183, the agent's from the
		# INVITE) and only learns the agent's address. The caller is sent rtpengine's SDP.
		rtpengine_answer("to-tag=${FAR_END_TAG} port-latching");
		if (status =~ "^2") {
			# Playback to the caller stops the moment the agent answers. In a reply the module
			# swaps the tags (from-tag := To tag), so the caller is selected with to-tag=$ft.
			stop_media("to-tag=$ft");
			$var(e) = "{}";
			jansson_set("string", "event", "answered", "$var(e)");
			jansson_set("string", "callid", "$ci", "$var(e)");
			jansson_set("string", "toTag", "$tt", "$var(e)");
			jansson_set("string", "agentSdp", "$rb", "$var(e)");
			evapi_relay("$var(e)");
		}
	}
}

# The answer to a re-offer comes back with the same From and To as the request.
onreply_route[REOFFER_FROM_CALLER] {
	if (status =~ "^2" && has_body("application/sdp")) rtpengine_answer("to-tag=${FAR_END_TAG} port-latching");
}

onreply_route[REOFFER_FROM_AGENT] {
	if (status =~ "^2" && has_body("application/sdp")) rtpengine_answer("from-tag=${FAR_END_TAG} port-latching");
}

route[EV_REOFFER] {
	$var(e) = "{}";
	jansson_set("string", "event", "reoffer", "$var(e)");
	jansson_set("string", "direction", "$var(dir)", "$var(e)");
	jansson_set("string", "callid", "$ci", "$var(e)");
	evapi_relay("$var(e)");
}

route[EV_DELETED] {
	$var(e) = "{}";
	jansson_set("string", "event", "deleted", "$var(e)");
	jansson_set("string", "method", "$rm", "$var(e)");
	jansson_set("string", "callid", "$ci", "$var(e)");
	evapi_relay("$var(e)");
}
`;
}
