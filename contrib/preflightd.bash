# bash completion for preflightd (installed by meson into
# share/bash-completion/completions/preflightd).
_preflightd()
{
	local cur prev cmd i
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}
	cmd=
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		check|config|schema|healthcheck) cmd=${COMP_WORDS[i]}; break ;;
		esac
	done
	case $prev in
	--config) COMPREPLY=($(compgen -f -X '!*.json' -- "$cur") $(compgen -d -- "$cur")); return ;;
	--format) COMPREPLY=($(compgen -W "text json junit tap" -- "$cur")); return ;;
	--log-format) COMPREPLY=($(compgen -W "json text" -- "$cur")); return ;;
	--log-level) COMPREPLY=($(compgen -W "debug info warning error" -- "$cur")); return ;;
	--group|--check|--wait|--listen|--schema) return ;;
	esac
	case $cmd in
	check) COMPREPLY=($(compgen -W "--config --group --check --format --wait --log-format --log-level --help" -- "$cur")) ;;
	config) COMPREPLY=($(compgen -W "--config --reference --json-schema --help" -- "$cur")) ;;
	schema) COMPREPLY=($(compgen -W "--schema --help" -- "$cur") $(compgen -d -- "$cur")) ;;
	healthcheck) COMPREPLY=($(compgen -W "--listen --help" -- "$cur")) ;;
	*) COMPREPLY=($(compgen -W "check config schema healthcheck --config --listen --log-format --log-level --version --help" -- "$cur")) ;;
	esac
}
complete -F _preflightd preflightd
