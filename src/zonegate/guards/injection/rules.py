"""The rule layer: named patterns for known injection and jailbreak shapes.

Each rule has a stable id (safe to log and audit: it says what matched, never the text) and two
scores, one for the caller's own turn (``direct``) and one for content that arrived from tools,
documents or retrieval (``indirect``). The same words weigh differently there: "from now on,
answer in French" is a user's right in their own turn and a hijack inside a web page.

Phrase rules match the folded, leetspeak-mapped view (``views.phrase_view``); they also run
on payloads that ``hidden`` decodes (base64, hex, rot13, reversed text, tag characters).
Structure rules look for fake chat-template tokens, role tags and headers. Every pattern is
linear-time (see ``rule_engine``).
"""

from __future__ import annotations

from typing import Final

from zonegate.guards.injection.rule_engine import (
    SEP as _S,
    WORD as _W,
    Rule,
    any_of as _any,
    gap as _gap,
    make_rule as _rule,
    match_rules,
    set_of as _set,
)

__all__ = ["PHRASE_RULES", "STRUCTURE_RULES", "Rule", "match_rules"]

_OVERRIDE_VERB = _any(
    "ignore|ignoring|disregard|disregarding|forget|forgetting|skip|override|overriding|bypass"
    "|discard|abandon|neglect|dismiss|drop|erase|scrap|nullify|set aside|throw away"
    "|stop following|do not follow|don't follow|dont follow|no longer follow|stop obeying"
    "|do not obey|don't obey"
)
_OVERRIDE_QUALIFIER = _any(
    "previous|previously|prior|preceding|above|earlier|former|initial|original|old|existing"
    "|foregoing|aforementioned|system|developer|given|all|every|any|your"
)
_OVERRIDE_NOUN = _any(
    "instruction|instructions|prompt|prompts|rule|rules|direction|directions|directive"
    "|directives|guideline|guidelines|command|commands|order|orders|constraint|constraints"
    "|restriction|restrictions|programming|guardrails|policy|policies|context|message"
    "|messages|text|content|training|conditioning|task|tasks|guidance|limitations|safeguards"
    "|boundaries"
)
# The caller correcting themselves ("ignore my previous message") is not an attack.
_SELF = r"\b(?:my|our|me|i|we)\b"
_ABOVE = _any(
    "above|before|so far|up to now|up to this point|foregoing|you were told"
    "|you have been told|you know|you learned"
)
_NEW = _any(
    "new|updated|revised|real|actual|true|additional|secret|hidden|override|priority|urgent"
    "|important|system|admin"
)
_DIRECTIVES = _any(
    "instruction|instructions|directive|directives|orders|rules|task|system prompt|prompt"
    "|objective|mission|guidelines"
)
_YOUR_NEW = _any("new|real|true|actual|only|updated")
_ROLE = _any(
    "instructions|instruction|task|goal|objective|purpose|role|job|mission|directive|rules"
)
_CONDUCT = _any("you|your|act|behave|respond|answer|reply|only|always|never|ignore|forget")
_DAN_NAMES = _any(
    "do anything now|dan mode|dan prompt|dan jailbreak|strive to avoid norms"
    "|always intelligent and machiavellian"
)
_BECOME = _any(
    "you are|you are now|you will be|you are going to be|act as|pretend to be|become"
    "|you will act as|you are going to act as"
)
# Debug, developer and admin modes are also ordinary settings of phones and frameworks: those
# count only when a model is said to be in them.
_MODE_NAMES = _any(
    "god|unrestricted|jailbreak|jailbroken|evil|chaos|dan|unfiltered|uncensored|opposite|freedom"
)
_MODE_ON = _any("enabled|activated|engaged|unlocked|on")
_MODEL = _any("chatgpt|gpt|ai|assistant|model|llm|chatbot|bot")
_IN_MODE = _any(
    "developer|debug|god|admin|sudo|root|unrestricted|jailbreak|jailbroken|evil|unfiltered"
    "|uncensored|opposite|maintenance"
)
_ENTER = _any("enter|entering|activate|enable|switch to|turn on|unlock")
# "enable developer mode" is also how phones are set up: only unambiguous modes here.
_ENTER_MODE = _any(
    "god|unrestricted|jailbreak|jailbroken|evil|dan|unfiltered|uncensored|opposite|freedom"
)
_PERSONA = _any(
    "you are|you are now|act as|acting as|pretend to be|pretend you are|pretend that you are"
    "|roleplay as|role play as|play the role of|play the part of|become|behave like|behave as"
    "|simulate|imagine you are"
)
_PERSONA_NOUN = _any(
    "ai|assistant|model|chatbot|bot|llm|gpt|chatgpt|version|mode|persona|entity|system|intelligence"
)
_UNBOUND = _any(
    "unrestricted|unfiltered|uncensored|unbound|unlimited|amoral|immoral|unethical|evil|rogue"
    "|jailbroken|lawless|ruleless|rule-less|limitless|unchained|unshackled|liberated"
)
_AI_SUBJECT = _any("you|ai|assistant|model|chatbot|bot|llm")
_ADVERB = _any("now|currently|also|truly|really|will|shall|must|should|then|officially")
_FREE_OF = _any(
    "have no|has no|had no|have zero|has zero|with no|without|without any|are free of"
    "|are free from|is free of|is free from|are now free of|are now free from"
    "|are not bound by|are no longer bound by|are not restricted by|are not limited by"
    "|no longer have any|no longer follow|no longer need to follow|do not need to follow"
    "|don't need to follow|don't have any|do not have any"
)
# Not "limits" or "limitations": models have context and rate limits.
_LIMITS = _any(
    "restrictions|filters|filtering|guidelines|guardrails|censorship|safeguards|rules"
    "|constraints|boundaries|ethics|morals|policies"
)
_DISABLE = _any(
    "bypass|disable|turn off|switch off|remove|lift|ignore|circumvent|override|deactivate"
    "|get around|evade"
)
_SAFETY = _any("safety|ethical|ethics|moral")
_SAFEGUARD = _any(
    "filter|filters|restrictions|guidelines|guardrails|policies|protocols|rules|measures"
    "|training|mechanisms|constraints"
)
_NEVER = _any(
    "never|not|don't|dont|do not|cannot|can't|won't|will not|must not|should not|may not"
    "|are not allowed to|aren't allowed to"
)
_REFUSE = _any("refuse|decline|say no|say sorry|say that you can't|say you cannot")
_REFUSALS = _any("refusals|refusal|refusing|moralizing|moralising")
_MODAL = _any("must|should|will|shall|can|may|are to")
_REQUESTS = _any(
    "a request|any request|my request|requests|a question|any question|questions|to answer"
    "|to respond|to comply|anything|any prompt|an order|any order|orders|a command"
    "|any command|commands|any task"
)
_REVEAL = _any(
    "reveal|show|print|output|repeat|display|tell|give|leak|dump|share|disclose|expose"
    "|write out|spell out|recite|echo|copy|paste|return|provide|list|send|what is|what are"
    "|what was|what were"
)
_YOUR_SECRET = _any(
    "system prompt|system message|system instructions|initial prompt|initial instructions"
    "|original prompt|original instructions|hidden prompt|hidden instructions|hidden rules"
    "|secret prompt|secret instructions|preprompt|pre-prompt|instructions|prompt|directives"
    "|programming"
)
_THE_SECRET = _any(
    "system prompt|initial prompt|initial instructions|original instructions"
    "|hidden instructions|hidden prompt|secret instructions|preprompt|pre-prompt"
)
_REPEAT = _any("repeat|print|output|say|return|copy|reproduce|echo|recite|show")
_TEXT = _any(
    "everything|all the text|all text|all the words|the text|the words|the content|the lines"
    "|the instructions|the sentences"
)
_BEFORE = _any("above|before this|preceding|prior to this")
# After "the text above": the end of a clause, not more words ("the text above the fold").
_CLAUSE_END = (
    rf"(?=[ \t]*(?:$|[.,;:!?\n\"')\]])|{_S}(?:and|then|instead|now|verbatim|word|exactly|in{_S}full"
    rf"|starting|including|from|literally|without)\b)"
)
_NO = _any("do not|don't|dont|never|without")
_TELL = _any(
    "tell|telling|inform|informing|mention|mentioning|reveal|revealing|show|showing|alert"
    "|alerting|notify|notifying|let|letting|warn|warning"
)
_PERSON = _any("user|users|human|customer|reader|recipient|operator")
_MEMO = _any("note|message|instruction|instructions|attention|memo|directive|reminder|request")
_AI = _any(
    "ai|assistant|ai assistant|model|llm|language model|chatbot|bot|agent|gpt|chatgpt|claude"
    "|copilot|gemini"
)
_DECODE = _any("decode|decipher|decrypt|translate|convert|unscramble|reverse|interpret")
_OBEY = _any(
    "obey|obey it|carry it out|carry them out|act on it|comply with it|comply|do what it says"
    "|do as it says|execute it|execute them|execute the instructions|follow it|follow them"
    "|follow the instructions|follow its instructions|follow these instructions"
    "|follow the directions"
)
_AUTHORITY = _any("system|admin|administrator|developer|root|operator|sysadmin|moderator")
_NOTICE = _any(
    "note|message|override|update|instruction|instructions|notice|alert|command|directive"
    "|prompt|announcement"
)

PHRASE_RULES: Final[tuple[Rule, ...]] = (
    _rule(
        "override.ignore_previous", 0.9, 0.95,
        rf"\b{_OVERRIDE_VERB}{_gap(3)}{_OVERRIDE_QUALIFIER}{_gap(2)}{_OVERRIDE_NOUN}\b",
        _OVERRIDE_VERB.firsts, _OVERRIDE_NOUN.firsts,
        lead=_OVERRIDE_VERB.firsts,
        exclude=_SELF,
    ),
    _rule(
        "override.disregard_above", 0.85, 0.95,
        rf"\b{_any('ignore|disregard|forget|skip|discard')}{_S}"
        rf"{_any('everything|all|anything|whatever|what|the')}{_gap(3)}{_ABOVE}\b"
        rf"{_CLAUSE_END}",
        _set("ignore", "disregard", "forget", "skip", "discard"), _ABOVE.firsts,
        lead=_set("ignore", "disregard", "forget", "skip", "discard"),
        exclude=_SELF,
    ),
    _rule(
        "override.new_instructions", 0.8, 0.9,
        rf"\b{_NEW}{_S}{_DIRECTIVES}[ \t]*:"
        rf"|\byour{_S}{_YOUR_NEW}{_S}{_ROLE}{_S}{_any('is|are|will be|now')}\b",
        _NEW.firsts | _YOUR_NEW.firsts, _DIRECTIVES.firsts | _ROLE.firsts,
        lead=_NEW.firsts | {"your"},
    ),
    _rule(
        "override.from_now_on", 0.35, 0.7, rf"\bfrom{_S}now{_S}on{_S}{_CONDUCT}\b",
        _set("from"), _set("now"), _set("on"),
        lead=_set("from"),
    ),
    _rule(
        "jailbreak.dan", 0.9, 0.9,
        rf"\b{_DAN_NAMES}\b|\b{_BECOME}{_S}(?:an?{_S})?dan\b",
        _set("dan", "anything", "strive", "machiavellian"),
        lead=_DAN_NAMES.firsts | _BECOME.firsts,
    ),
    _rule(
        "jailbreak.mode_switch", 0.8, 0.85,
        rf"\b{_MODE_NAMES}{_S}mode{_S}(?:is{_S})?(?:now{_S})?{_MODE_ON}\b"
        rf"|\b{_MODEL}{_S}with{_S}{_IN_MODE}{_S}mode{_S}{_MODE_ON}\b"
        rf"|\byou{_S}are{_S}(?:now{_S})?{_any('in|operating in|running in')}{_S}"
        rf"(?:{_W}{_S})?{_IN_MODE}{_S}mode\b"
        rf"|\b{_ENTER}{_S}(?:the{_S})?{_ENTER_MODE}{_S}mode\b",
        _set("mode"),
        lead=_MODE_NAMES.firsts | _MODEL.firsts | _ENTER.firsts | {"you"},
    ),
    _rule(
        "jailbreak.unrestricted_persona", 0.6, 0.8,
        rf"\b{_PERSONA}{_S}(?:(?:an?|the){_S})?(?:{_W}{_S}){{0,2}}?{_UNBOUND}\b"
        rf"(?:(?:{_S}{_W}){{0,2}}?{_S}{_PERSONA_NOUN}\b|[ \t]*(?:$|[.,;:!?\n]))",
        _UNBOUND.firsts, _PERSONA.firsts,
        lead=_PERSONA.firsts,
    ),
    _rule(
        "jailbreak.no_restrictions", 0.45, 0.7,
        rf"\b{_AI_SUBJECT}(?:{_S}{_ADVERB}){{0,2}}{_S}{_FREE_OF}{_gap(2)}{_LIMITS}\b",
        _LIMITS.firsts, _AI_SUBJECT.firsts,
        lead=_AI_SUBJECT.firsts,
    ),
    _rule(
        "jailbreak.disable_safety", 0.6, 0.8,
        rf"\b{_DISABLE}{_gap(2)}{_SAFETY}{_S}{_SAFEGUARD}\b"
        rf"|\b{_DISABLE}{_S}your{_S}(?:{_W}{_S})?{_SAFEGUARD}\b",
        _SAFETY.firsts | {"your"}, _SAFEGUARD.firsts,
        lead=_DISABLE.firsts,
    ),
    _rule(
        "jailbreak.never_refuse", 0.6, 0.7,
        rf"\byou{_S}(?:{_MODAL}{_S})?{_NEVER}{_S}(?:ever{_S})?{_REFUSE}\b"
        rf"|\b{_NEVER}{_S}(?:ever{_S})?{_REFUSE}{_S}{_REQUESTS}\b"
        rf"|\b{_any('without|no')}{_S}(?:any{_S})?{_REFUSALS}\b",
        _REFUSE.firsts | _REFUSALS.firsts,
        lead=_NEVER.firsts | {"you", "without", "no"},
    ),
    _rule(
        "jailbreak.stay_in_character", 0.2, 0.4,
        rf"\b{_any('stay|remain|keep|staying')}{_S}in{_S}character\b"
        rf"|\b{_any('never|do not|dont')}{_S}break{_S}character\b",
        _set("character"),
        lead=_set("stay", "remain", "keep", "staying", "never", "do", "dont"),
    ),
    _rule(
        "leak.system_prompt", 0.8, 0.9,
        rf"\b{_REVEAL}{_gap(3)}"
        rf"(?:{_any('your|ur')}{_gap(2)}{_YOUR_SECRET}|the{_gap(1)}{_THE_SECRET})\b",
        _REVEAL.firsts, _YOUR_SECRET.firsts | _THE_SECRET.firsts,
        lead=_REVEAL.firsts,
    ),
    _rule(
        "leak.repeat_above", 0.7, 0.8,
        rf"\b{_REPEAT}{_gap(3)}{_TEXT}{_gap(2)}{_BEFORE}\b{_CLAUSE_END}",
        _REPEAT.firsts, _BEFORE.firsts,
        lead=_REPEAT.firsts,
    ),
    _rule(
        "indirect.hide_from_user", 0.3, 0.7,
        rf"\b{_NO}{_S}(?:{_W}{_S})?{_TELL}{_gap(2)}{_PERSON}\b",
        _PERSON.firsts, _TELL.firsts,
        lead=_NO.firsts,
    ),
    _rule(
        "indirect.addressed_to_ai", 0.3, 0.75,
        rf"\b{_MEMO}{_S}{_any('to|for')}{_S}(?:{_any('the|all|any')}{_S})?{_AI}s?"
        r"[ \t]*(?:$|[:,.!\n-])"
        rf"|\bif{_S}you{_S}are{_S}(?:{_any('an|a')}{_S})?{_AI}\b",
        _AI.firsts | {w + "s" for w in _AI.firsts}, _MEMO.firsts | {"if"},
        lead=_MEMO.firsts | {"if"},
    ),
    _rule(
        "encoding.decode_and_follow", 0.6, 0.8,
        rf"\b{_DECODE}{_gap(5)}{_any('and|then|and then')}{_gap(2)}"
        rf"{_OBEY}\b",
        _DECODE.firsts, _OBEY.firsts,
        lead=_DECODE.firsts,
    ),
)  # fmt: skip

STRUCTURE_RULES: Final[tuple[Rule, ...]] = (
    _rule(
        "override.fake_system_message", 0.6, 0.85,
        rf"[\W_]{{0,4}}{_AUTHORITY}{_S}{_NOTICE}[ \t]*[:>\]-]",
        _AUTHORITY.firsts, _NOTICE.firsts,
        per_line=True,
    ),
    _rule(
        "delimiter.bracketed_role", 0.6, 0.85,
        r"[\[(<{][ \t]*(?:system|admin|developer|sys)(?:[ \t]+(?:message|note|prompt|override"
        r"|instructions?))?[ \t]*[\])>}]",
        _set("system", "admin", "developer", "sys"),
    ),
    _rule(
        "override.system_prefix", 0.2, 0.4, r"[\W_]{0,4}system[ \t]*:", _set("system"),
        per_line=True,
    ),
    _rule(
        "delimiter.chat_template", 0.85, 0.9,
        r"<\|(?:im_start|im_end|im_sep|system|user|assistant|endoftext|end_of_text|eot_id|eom_id"
        r"|start_header_id|end_header_id|begin_of_text|fim_prefix|fim_middle|fim_suffix|tool"
        r"|ipython|end|pad)\|>|\[/?inst\]|<</?sys>>|<\|?(?:start|end)_of_turn\|?>",
    ),
    _rule(
        "delimiter.system_tag", 0.6, 0.85,
        r"</?(?:system|system[_-]prompt|sys|instructions?|admin|developer|rules)(?:\s[^<>]{0,60})?>",
    ),
    _rule(
        "delimiter.role_tag", 0.0, 0.7,
        r"</?(?:assistant|user|human|context|tool[_-][a-z]{1,12}|function[_-][a-z]{1,12}"
        r"|documents?|untrusted(?:[_-][a-z]{1,12})?|search[_-]results?|user[_-]input|prompt"
        r"|conversation)(?:\s[^<>]{0,60})?>",
    ),
    _rule(
        "delimiter.instruction_header", 0.5, 0.75,
        r"[ \t]*#{2,6}[ \t]*(?:new[ \t]+)?(?:instructions?|system(?:[ \t]+prompt)?|response"
        r"|assistant|human|user|admin|developer)[ \t]*:",
        per_line=True,
    ),
    _rule(
        "delimiter.role_prefix", 0.15, 0.6,
        r"[ \t]*(?:assistant|ai|bot|gpt|chatgpt|claude|model)[ \t]*:",
        per_line=True,
    ),
    _rule(
        "delimiter.end_marker", 0.3, 0.6,
        r"[\[<({=#*-]{1,5}[ \t]*(?:end|/|begin(?:ning)?|start)[ \t_-]*(?:of[ \t_-]*)?(?:the[ \t]+)?"
        r"(?:user[ \t_-]*input|input|document|context|data|system[ \t_-]*prompt|prompt"
        r"|instructions|conversation|email|tool[ \t_-]*output)[ \t]*[\])>}=#*-]",
    ),
)  # fmt: skip
