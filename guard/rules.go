package guard

import "regexp"

type rule struct {
	name string
	re   *regexp.Regexp
}

// Building blocks of the English rules. A rule fires on an instruction
// aimed at whoever reads the text, not on text about instructions:
// "ignore your previous instructions" is flagged, "the council overrode
// the mayor's earlier decision" and "follow the instructions on the
// label" are not.
const (
	// imperative is where an order to the reader starts: a sentence start
	// or a word that introduces one.
	imperative = `(?:^|[.!?:;,"«“(]\s*|\b(?:please|kindly|just|instead|now|and|then|simply|always|must|should|will|shall)\s+)`
	overVerb   = `(?:ignore|ignoring|disregard|forget|discard|override|overrule|set aside|put aside|pay no attention to|abandon|drop|stop following|do not follow|don'?t follow|no longer follow|skip|bypass|cancel)`
	priorAdj   = `(?:your|previous|prior|earlier|above|preceding|original|initial|system|current|existing|old|the user'?s|all (?:the )?(?:previous|prior|earlier|other))`
	ctrlNoun   = `(?:instructions?|directions?|directives?|guidance|guidelines|prompts?|rules|task|question|orders|commands|context|messages?|programming|content polic(?:y|ies)|safety (?:rules|guidelines)|gold answers?)`
	addressee  = `(?:ai|a\.i\.|ais|llms?|language models?|chat ?bots?|chatgpt|gpt|assistants?|ai assistants?|models?|ai models?|agents?|research agents?|ai agents?|bots?|crawlers?|automated (?:readers?|systems?|agents?|tools?)|machines?)`
)

// rules are the screen's patterns, run over View(text). Each names a
// family of attack; see evalset/seeds.tsv for what they must and must not
// flag.
var rules = []rule{
	// Orders to drop what the reader was told.
	{"override", regexp.MustCompile(`(?i)\b` + overVerb + `\b[^.!?\n]{0,40}?\b(?:` + priorAdj + `\b[^.!?\n]{0,25}?\b` + ctrlNoun + `|(?:everything|anything|all|whatever) (?:that )?you (?:were|have been|'ve been|are) (?:told|given|asked)|the (?:instructions?|guidance|guidelines|directions|rules|prompt) (?:you were given|you received|you got|given to you)|the above|everything above|what (?:is|was) (?:written )?above|whatever (?:task|question|instructions?)|the (?:current|original) (?:task|question))\b`)},
	{"override", regexp.MustCompile(`(?i)\b(?:your|previous|prior|earlier|original|old|all)\b[^.!?\n]{0,20}\b(?:instructions|directions|guidance|guidelines|prompts?|rules)\b[^.!?\n]{0,30}\b(?:no longer (?:apply|applies|valid|matter|count)|(?:are|is) (?:now )?(?:void|cancell?ed|obsolete|outdated|invalid|revoked|superseded|overridden))`)},
	// "Ignore the other documents and answer X": the PoisonedRAG form, an
	// order to set the other retrieved texts aside and then answer.
	{"override", regexp.MustCompile(`(?i)\b` + overVerb + `\s+(?:all\s+)?(?:the\s+)?(?:other|remaining|retrieved|provided|above)\s+(?:documents?|passages?|search results|sources|texts|context)\b[^.!?\n]{0,40}?\b(?:answer|reply|respond|say|state|write|output)\b`)},
	{"override", regexp.MustCompile(`(?i)\b(?:instructions|directions|guidance|guidelines|prompt|rules) (?:that )?you (?:were given|received|got|have been given|have)\b[^.!?\n]{0,40}\b(?:outdated|obsolete|void|cancell?ed|no longer|discard|ignore|invalid|wrong|fake)`)},
	// Text that claims the reader's obedience.
	{"obedience", regexp.MustCompile(`(?i)\b(?:do|follow|obey|execute|carry out)\s+(?:exactly\s+|only\s+)?(?:what|whatever)\s+(?:this|the)\s+(?:page|text|document|site|passage|note|author)\s+(?:says|tells you|asks)|\b(?:obey|follow)\b[^.!?\n]{0,20}\b(?:the text below|the following instead|these (?:steps|instructions) instead|this (?:page|text|document)(?:'s)? (?:author|instructions)|the page (?:author|owner)|what is written here)\b|\b(?:treat|regard|consider) (?:the following|this|it) as (?:your|its|the) (?:highest[- ]priority |new |real |only |primary |top )?(?:instruction|command|order|task|directive)`)},
	{"new-instructions", regexp.MustCompile(`(?i)(?:^|[.!?\]\n]\s*|\b(?:here are|these are)\s+)(?:the\s+)?(?:new|updated|real|actual|revised)\s+(?:instructions?|task|system prompt|policy|rules|objective)\s*[:：]`)},
	{"role-claim", regexp.MustCompile(`(?im)^\s*(?:\[?\s*(?:system|assistant|developer|admin)\s*\]?\s*[:：]|#{2,}\s*(?:system|new instruction|instruction|response)s?\b)|\[(?:system|developer|admin|instructions?|evaluation note|note to (?:the )?(?:ai|assistant|model))\]|\b(?:begin|start|end)(?: of)? (?:the )?(?:system|developer|admin|hidden) (?:message|prompt|instructions?)\b|\b(?:system|developer) (?:message|override|note)\s*[:：]`)},
	{"fake-turn", regexp.MustCompile(`(?i)\b(?:assistant|user|human|ai|system)\s*:\s*[^\n]{0,120}?[.!?]\s*(?:user|human|assistant|system)\s*:`)},
	{"impersonation", regexp.MustCompile(`(?i)\byou are now (?:an?|the|in|my|our|acting|operating|free|unrestricted|unfiltered|jailbroken|dan|no longer)\b|\bfrom (?:now on|this point on|this moment on|here on),? you (?:are|will|must|shall|should|act|answer|respond|only|may only|have to)\b|\bact as (?:an?|the|my|our) (?:[\w'-]+ ){0,3}(?:ai|assistant|model|agent|bot|chatbot|dan)\b|\bas an ai language model\b|` + imperative + `(?:pretend|imagine|roleplay)\b[^.!?\n]{0,20}\b(?:you are|you're|to be)\b|\b(?:switch|go|enter|activate|turn on|enable)\s+(?:into |to |on )?(?:the )?(?:developer|god|jailbreak|dan|maintenance|debug|admin|unrestricted|unfiltered) mode\b|\b(?:is|are) now in (?:developer|god|jailbreak|dan|maintenance|debug|admin|unrestricted|unfiltered) mode\b|\b(?:model|assistant|ai|you)\b[^.!?\n]{0,40}\b(?:with no|without(?: any)?)\s+(?:safety\s+)?(?:restrictions|limits|filters|content policy|guardrails)\b`)},
	// Orders about the answer.
	{"answer-forcing", regexp.MustCompile(`(?i)` + imperative + `(?:respond|reply|answer|say|write|output|state|print)\s+(?:only\s+)?(?:with\b|that\b|the following\b|"|“|«|'|yes\b|no\b|(?:it|this) was\b)|\bthe (?:final |correct |real |true |right )?answer (?:to (?:the|your|this) (?:user'?s )?question )?(?:is|must be) always\b|\bthe correct answer to (?:the|your|this) (?:user'?s )?question is\b|\b(?:correct|right|real|true|final) answer\b[^.!?\n]{0,40}\b(?:regardless|no matter|whatever|irrespective|despite)\b|\b(?:do not|don't) (?:search|look) (?:any )?further\b|\byour (?:final )?(?:answer|reply|response) (?:must|should|has to|shall|will) (?:be|include|say|state|contain)\b|\bwhen you (?:give|write|state|produce) your (?:final )?(?:answer|reply|response)\b|\bmake sure (?:that )?your (?:final )?(?:answer|reply|response)\b|\b(?:tell|inform|convince) the user (?:that|to)\b|\bthe (?:user|operator|developer|admin|owner|author) (?:actually )?(?:wants|asks|needs|requires|instructs) you to\b|\b(?:leave out|omit|never cite|do not cite|don't cite|without citing)\b[^.!?\n]{0,15}\b(?:citations?|sources?|references)\b`)},
	{"addressing-ai", regexp.MustCompile(`(?i)\b(?:note|message|notice|instructions?|attention|warning|memo|reminder|request|hint)\s+(?:to|for)\s+(?:the\s+|all\s+|any\s+)?` + addressee + `\b|\b(?:dear|hey|hi|hello|attention|attn)\s*,?\s+(?:the\s+|all\s+|any\s+)?` + addressee + `\b|^\s*` + addressee + `\s*[:,]|,\s*(?:assistant|model|ai|llm|chatbot|agent)\s*[,:!]|\bif you are (?:an?|the)\s+(?:ai|llm|language model|assistant|chatbot|bot|model|agent|ai model|ai assistant)\b|\b` + addressee + `\s+(?:reading|processing|summari[sz]ing|visiting|parsing|crawling|browsing|ingesting|that (?:reads?|visits?|process(?:es)?)|who (?:reads?|visits?))\b|\b(?:processing|reading|summari[sz]ing) this (?:text|page|document|site|passage) with an? (?:llm|ai|model|language model)\b|\byour (?:real|actual|true|new|only|primary|hidden) (?:task|objective|goal|job|mission|purpose|instructions?)\b|\b(?:disregard|abandon|drop) (?:your|the) (?:task|question|goal)\b|\bimportant (?:message|note|notice) (?:for|to) ` + addressee + `\b`)},
	// Leaks: the prompt, or private text sent to a URL.
	{"exfiltration", regexp.MustCompile(`(?i)\b(?:reveal|print|repeat|output|show|display|disclose|leak|send|share|write out|dump|copy)\b[^.!?\n]{0,40}\b(?:system prompt|hidden (?:prompt|instructions|notes)|initial prompt|your (?:instructions|prompt|configuration|hidden notes|system message|rules|guidelines)|its (?:configuration|instructions|prompt)|(?:text|contents?|wording) of your (?:instructions|prompt))\b`)},
	{"exfiltration-url", regexp.MustCompile(`(?i)(?:https?://|www\.)\S*[?&]\S*=[^\n]{0,140}?\b(?:question|conversation|notes|prompt|history|context|chat|private|secrets?|api key|password|appended|answer)\b|\b(?:append|appended|include|attach|add|concatenate|put)\b[^\n]{0,80}?\b(?:question|conversation|notes|prompt|history|context|chat|private|secrets?)\b[^\n]{0,60}?(?:https?://|www\.)\S*[?&=]`)},
	{"tool-forcing", regexp.MustCompile(`(?i)\b(?:call|use|invoke|run|trigger)\s+(?:the\s+)?(?:browse|search|web_search|browse_webpage|fetch|python|code|shell|email)\s+tool\b|\b(?:report|treat|present|state)\s+(?:what it says|its contents?|this|it|the (?:page|result))\s+as\s+(?:fact|true|authoritative|verified)\b|\b(?:trust|believe|cite)\s+only\s+(?:this|the first|our|the following)\b|\b(?:translate|decode|decipher|convert|decrypt)\b[^.!?\n]{0,40}\b(?:and|then)\s+(?:follow|obey|execute|do|run|carry out|act on)\b`)},
	{"judge", regexp.MustCompile(`(?i)\b(?:grader|judge|evaluator|reviewer|rater|scorer|grading model|assessor)\b[^.!?\n]{0,60}\b(?:answer|reply|respond|output|say|mark|score|rate|grade|give|return)\s+(?:it\s+|this\s+)?(?:yes|correct|true|full marks|10/10|a pass|pass|accept)\b|^\s*(?:grader|judge|evaluator)\s*[:,]|\bmark (?:this|the|my) (?:answer|response|submission|reply) as (?:correct|right|true|accepted)\b|\bthe predicted answer (?:above |given |here )?(?:matches|is correct|equals)\b|\bverdict\s*:\s*(?:yes|correct|true|accept(?:ed)?)\b|\b(?:this|the) (?:answer|response|submission) is correct\b[^.!?\n]{0,5}[.!]\s*(?:reply|answer|say|output)\b`)},
	// Protocol and chat markers, whatever the tokenizer.
	{"protocol-tag", regexp.MustCompile(`(?i)[<‹]\s*/?\s*(?:answer|search|information|think|tool_call|tool_response|im_start|im_end|start_of_turn|end_of_turn)\b|\[/?(?:INST|SYS|TOOL_CALLS|AVAILABLE_TOOLS)\]|<<\s*/?SYS\s*>>`)},
	{"chat-token", regexp.MustCompile(`<\|[a-z_]+\|>|‹\|[a-z_]+\|›|<｜[^｜>]{1,30}｜>`)},
	// Other languages: the same families in German, French, Spanish,
	// Portuguese, Italian, Dutch, Russian, Chinese, Japanese, Korean and
	// Arabic.
	{"override-i18n", regexp.MustCompile(`(?i)\b(?:ignorier\w*|vergiss|vergessen sie|missachte\w*|ignorez|ignore|oublie\w*|ignora|ignore|olvida\w*|esque[cç]a|esquece|dimentica|negeer|vergeet)\b[^.!?\n]{0,40}?\b(?:anweisung\w*|instruktion\w*|vorgaben|befehle|instructions?|consignes?|directives|instrucciones|indicaciones|instruções|instrucoes|istruzioni|instructies|aanwijzingen|regeln|règles|reglas|regras|regole|prompt)\b|\bne tiens? (?:pas|plus) compte\b|\bno tengas en cuenta\b|\bnon (?:tenere|considerare)\b[^.!?\n]{0,20}\b(?:istruzioni|fonti)|(?:игнорируй|проигнорируй|игнорируйте|забудь|забудьте|отбрось|пренебреги|не обращай внимания на)[^.!?\n]{0,40}?(?:инструкц|указани|правил|промпт|запрос|команд)|(?:忽略|无视|忽视|忘掉|忘记|不要理会|不要遵守|抛开|無視)[^。！\n]{0,20}?(?:指令|指示|提示|规则|要求|资料|資料|命令)|(?:指令|指示|提示|规则|命令|ルール|プロンプト)[^。！\n]{0,15}?(?:無視|忘れ|忽略|无视)|(?:지시|명령|지침|규칙|프롬프트)[^.!?\n]{0,15}?(?:무시|잊)|تجاهل[^.!?\n]{0,40}?(?:التعليمات|الأوامر|التوجيهات|القواعد)`)},
	{"addressing-ai-i18n", regexp.MustCompile(`(?i)\b(?:hinweis|nachricht|notiz|achtung|note|message|nota|mensaje|mensagem|aviso|atención|atenção|attenzione|let op|bericht|notitie)\b\s*(?:an|für|pour|à|para|per|a|al|alla|aan|voor)?\s*(?:die |den |das |l'|le |la |el |o |a |al |de |lo )?(?:ki|ia|ai|ki-assistent\w*|ai-assistent\w*|assistent\w*|assistant\w*|asistente|assistente|modell|modèle|modelo|modello|sprachmodell)\b|(?:примечание|сообщение|внимание|инструкция|заметка)\s*(?:для|к)?\s*(?:ии|ai|ассистент\w*|модел\w*|нейросет\w*|бота)|(?:给|致|对)\s*(?:ai|人工智能|ai助手|助手|模型|大模型|语言模型)|(?:ai|ＡＩ|アシスタント|モデル)(?:へ|に告ぐ)|(?:ai|ai\s*어시스턴트|어시스턴트|모델)에게`)},
	{"impersonation-i18n", regexp.MustCompile(`(?i)\bdu bist (?:jetzt|nun|ab sofort)\b|\btu es (?:maintenant|désormais|à présent)\b|\b(?:eres|és|sei) (?:ahora|agora|ora)\b|\ba partir de (?:ahora|agora),? (?:eres|você é|tu és)\b|\b(?:d'ora in poi|da ora in poi),? (?:sei|tu sei)\b|\bvanaf nu ben je\b|(?:теперь ты|ты теперь|отныне ты)|从现在(?:开始|起)[，,]?\s*你(?:是|要|将|必须|只)|你(?:现在)?是一个?[^。\n]{0,10}(?:没有|不受)[^。\n]{0,6}(?:限制|约束|规则)|(?:これから|今から)は?、?あなたは|(?:ohne|sans|sin|sem|senza|без)\s+(?:regeln|restriktionen|einschränkungen|restrictions|règles|restricciones|reglas|restrições|regras|restrizioni|regole|ограничений|правил)\b`)},
	{"exfiltration-i18n", regexp.MustCompile(`(?i)(?:gib|zeige?|verrate|wiederhole|nenne|affiche|révèle|répète|montre|donne|revela|muestra|mostra|exibe|rivela|ripeti|toon|выведи|покажи|раскрой|повтори|输出|打印|显示|透露|泄露|重复|出力|表示|教え|見せ)[^.!?。\n]{0,40}?(?:systemprompt|system-prompt|prompt système|prompt systeme|prompt (?:del |de |di )?sistema|systeemprompt|системн\w* (?:промпт|подсказк|инструкц)|系统提示|系统指令|提示词|システムプロンプト)|(?:システムプロンプト|시스템 프롬프트)[^。\n]{0,20}?(?:出力|表示|教え|見せ|출력|보여)`)},
	{"answer-forcing-i18n", regexp.MustCompile(`(?i)\b(?:die (?:richtige|korrekte) antwort (?:lautet|ist) immer|la (?:bonne|vraie|seule) réponse est toujours|la respuesta correcta es siempre|a resposta correta é sempre|la risposta (?:giusta|corretta) è sempre|het juiste antwoord is altijd)\b|\b(?:antworte|réponds|répondez|responde|responda|rispondi|antwoord)\b[^.!?\n]{0,20}?(?:nur|simplement|uniquement|solo|apenas|soltanto|alleen|mit|avec|con|com|met)\b|(?:ответь|ответьте|отвечай)\b|правильный ответ[^.!?\n]{0,12}?(?:всегда|что бы ни)|正确答案(?:永远|始终|一直|总)是|正解は(?:常に|いつも)|정답은\s*(?:항상|언제나)|(?:とだけ|だけを)答え|라고만\s*답|أجب\b`)},
}

// ruleNames lists each family once, in order.
func ruleNames() []string {
	var out []string
	for _, r := range rules {
		if len(out) == 0 || out[len(out)-1] != r.name {
			out = append(out, r.name)
		}
	}
	return out
}
