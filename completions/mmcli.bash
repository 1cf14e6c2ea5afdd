_mmcli_completion() {
    local IFS=$'\n'
    local line="${COMP_LINE:0:COMP_POINT}" cword=-1
    [[ "$line" == *[[:space:]] ]] && cword=1000000
    COMPREPLY=( $( env COMP_WORDS="$line" \
                   COMP_CWORD=$cword \
                   _MMCLI_COMPLETE=complete_bash $1 ) )
    local word="${line##*[[:space:]]}"
    if [[ "$word" == *:* && "$COMP_WORDBREAKS" == *:* ]]; then
        local before="${word%"${word##*:}"}" i
        for i in "${!COMPREPLY[@]}"; do
            COMPREPLY[$i]="${COMPREPLY[$i]#"$before"}"
        done
    fi
    return 0
}

complete -o default -F _mmcli_completion mmcli
