"""Residents' requests (民情诉求): accept → handle → feedback → escalate → archive
(受理-处置-反馈-上报-归档), with the first acceptor owning it to the end."""
